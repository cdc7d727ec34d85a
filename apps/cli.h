/* Subcommands of the shiftvox command. Each cmd_*.c file defines one. */
#ifndef SVX_CLI_H
#define SVX_CLI_H

int cmd_features(int argc, char **argv);
int cmd_devices(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_transcribe(int argc, char **argv);
int cmd_listen(int argc, char **argv);
int cmd_eval(int argc, char **argv);

#endif
