import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'state/*.db*', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  // tsc checks the JavaScript files too (checkJs), and knows Node's globals, which this rule does not.
  { files: ['**/*.js', '**/*.mjs'], rules: { 'no-undef': 'off' } },
);
