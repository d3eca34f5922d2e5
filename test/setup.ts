// Vitest setup file: the process setup every entry point runs first, and temp-dir cleanup after each test file.
import '../src/setup.js'
import { afterAll } from 'vitest'
import { removeTempDirs } from './helpers/tmp.js'

afterAll(removeTempDirs)
