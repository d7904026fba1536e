/* emulator — placeholder translation unit until the component lands. */
typedef int emulator_placeholder;
