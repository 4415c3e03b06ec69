/*
** mpi.c — what the experiment and the calibration ask of MPI
** (docs/cluster.md): this process's rank, agreeing on values across ranks,
** and the messages the other ranks send rank 0. Built with MPI (make MPI=1,
** TR_MPI) it calls Open MPI; otherwise there is one rank, rank 0, and every
** function is a no-op, so callers hold no #ifdef.
**
** Open MPI's blocking calls spin on a core; with ranks sharing a machine's
** cores that halves the workers' speed. So messages are waited for
** politely: test, then sleep a millisecond.
*/
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "experiment/journal.h"
#include "experiment/mpi.h"

#ifdef TR_MPI
#include <mpi.h>

int mpi_rank(void) {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

int mpi_size(void) {
  int n = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

int mpi_same_everywhere(const char hex[65]) {
  char root[65];
  memcpy(root, hex, sizeof root);
  MPI_Bcast(root, (int)sizeof root, MPI_CHAR, 0, MPI_COMM_WORLD);
  int differs = memcmp(root, hex, sizeof root) != 0, any = 0;
  MPI_Allreduce(&differs, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return !any;
}

void mpi_share_longs(long *v, int n) { MPI_Bcast(v, n, MPI_LONG, 0, MPI_COMM_WORLD); }
void mpi_share_ints(int *v, int n) { MPI_Bcast(v, n, MPI_INT, 0, MPI_COMM_WORLD); }
void mpi_share_doubles(double *v, int n) { MPI_Bcast(v, n, MPI_DOUBLE, 0, MPI_COMM_WORLD); }

int mpi_max_int(int v) {
  int worst = v;
  MPI_Allreduce(&v, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return worst;
}

static void nap(void) {
  struct timespec ms = {0, 1000000};
  nanosleep(&ms, NULL);
}

static void probe_politely(int source, int tag, MPI_Status *st) {
  int flag = 0;
  for (;;) {
    MPI_Iprobe(source, tag, MPI_COMM_WORLD, &flag, st);
    if (flag) return;
    nap();
  }
}

int mpi_recv(int source, tr_buf *buf, int *tag, int *len) {
  MPI_Status ms;
  probe_politely(source, MPI_ANY_TAG, &ms);
  MPI_Get_count(&ms, MPI_BYTE, len);
  if (buf->cap < (size_t)*len + 1) {
    unsigned char *nb = realloc(buf->data, (size_t)*len + 1);
    if (!nb) return -1;
    buf->data = nb;
    buf->cap = (size_t)*len + 1;
  }
  MPI_Recv(buf->data, *len, MPI_BYTE, source, ms.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  *tag = ms.MPI_TAG;
  return 0;
}

void mpi_send_root(const void *data, int len, int tag) {
  MPI_Request req;
  int done = 0;
  MPI_Isend(data, len, MPI_BYTE, 0, tag, MPI_COMM_WORLD, &req);
  for (;;) {
    MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (done) return;
    nap();
  }
}

void mpi_send_stop(int rank) { MPI_Send(NULL, 0, MPI_BYTE, rank, MSG_STOP, MPI_COMM_WORLD); }

int mpi_stop_arrived(void) {
  int flag = 0;
  MPI_Iprobe(0, MSG_STOP, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
  if (flag) MPI_Recv(NULL, 0, MPI_BYTE, 0, MSG_STOP, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  return flag;
}

void mpi_wait_stop(void) {
  MPI_Status st;
  probe_politely(0, MSG_STOP, &st);
  MPI_Recv(NULL, 0, MPI_BYTE, 0, MSG_STOP, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
}

#else /* one process: rank 0 of 1 */

int mpi_rank(void) { return 0; }
int mpi_size(void) { return 1; }
int mpi_same_everywhere(const char hex[65]) { return 1; }
void mpi_share_longs(long *v, int n) {}
void mpi_share_ints(int *v, int n) {}
void mpi_share_doubles(double *v, int n) {}
int mpi_max_int(int v) { return v; }
int mpi_recv(int source, tr_buf *buf, int *tag, int *len) { return -1; }
void mpi_send_root(const void *data, int len, int tag) {}
void mpi_send_stop(int rank) {}
int mpi_stop_arrived(void) { return 0; }
void mpi_wait_stop(void) {}

#endif
