/* mpi.h — experiment layer (docs/internals.md, "Layers"). */
#ifndef TR_EXPERIMENT_MPI_H
#define TR_EXPERIMENT_MPI_H

#include "base/common.h"
#include "experiment/journal.h"

/* MPI for the experiment and the calibration (mpi.c, docs/cluster.md);
** without MPI, rank 0 of 1 and no-ops. */
int mpi_rank(void);
int mpi_size(void);
/* Whether every rank's hex digest equals rank 0's (every rank calls it). */
int mpi_same_everywhere(const char hex[65]);
/* Rank 0's values to every rank (every rank calls them). */
void mpi_share_longs(long *v, int n);
void mpi_share_ints(int *v, int n);
void mpi_share_doubles(double *v, int n);
/* The largest v over the ranks (every rank calls it). */
int mpi_max_int(int v);
/* What the other ranks tell rank 0, and rank 0 them. */
enum { MSG_RESULT = 1, MSG_FAILED = 2, MSG_STOPPED = 3, MSG_STOP = 4 };
/* Rank 0: the next message from source into buf (one byte more than it
** holds, for a terminating NUL); its tag and length. 0, or -1 when out of
** memory. */
int mpi_recv(int source, tr_buf *buf, int *tag, int *len);
/* Another rank: a message to rank 0, waited for politely. */
void mpi_send_root(const void *data, int len, int tag);
/* Rank 0: tell rank `rank` to stop (MSG_STOP). */
void mpi_send_stop(int rank);
/* Another rank: whether rank 0 said stop (the message is then taken). */
int mpi_stop_arrived(void);
/* Another rank: wait until rank 0 says stop, and take the message. */
void mpi_wait_stop(void);

#endif
