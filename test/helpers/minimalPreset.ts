// Import first in a test file whose chain uses the minimal preset: @lodestar/params fixes its preset when it is
// first loaded, and each test file runs in a process of its own.
import { PresetName, setActivePreset } from '@lodestar/params/setPreset'

setActivePreset(PresetName.minimal)
