// Wiring only: the subcommands live in agent/cli/.
#include "cli/commands.h"

int main(int argc, char** argv) { return sonde::cli::main(argc, argv); }
