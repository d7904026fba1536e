typedef int emulator_placeholder;
