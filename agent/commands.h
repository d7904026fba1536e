/*
 * commands.h — the airgap CLI's subcommands, one file each (cmd_*.c).
 *
 * Every command receives argv with argv[0] set to the command name, parses its
 * own flags (getopt_long; unknown flag → usage on stderr, exit 2; --help →
 * usage on stdout, exit 0) and returns the process exit code.
 */
#ifndef AIRGAP_AGENT_COMMANDS_H
#define AIRGAP_AGENT_COMMANDS_H

int cmd_emulator(int argc, char **argv);
int cmd_queue(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_submit(int argc, char **argv);
int cmd_jobs(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_cancel(int argc, char **argv);
int cmd_wait(int argc, char **argv);

#endif
