// Lint: ESLint's and typescript-eslint's recommended rules. Formatting is Prettier's job (npm run check).
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      // A deadline built this way may never fire on Node 20 (see src/deadline.ts).
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='AbortSignal'][callee.property.name='any']",
          message: 'Use deadlineSignal() from src/deadline.ts: AbortSignal.any may drop a timeout after a GC.',
        },
      ],
      // Small functions (design.md): one that outgrows a screen is split by concern.
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true, IIFEs: true }],
    },
  },
  {
    files: ['bin/*.js', 'eslint.config.js'],
    languageOptions: { globals: { process: 'readonly' } },
  },
)
