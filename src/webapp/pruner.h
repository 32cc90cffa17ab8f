/* The setting retention: every user's fixes older than now minus the
 * retention are deleted once a day, the first time prune_delay seconds
 * after the webapp starts, in fixdel.h's batches (the receiver keeps
 * committing, the history follows). One line is logged per prune. */
#ifndef MINTRAC_PRUNER_H
#define MINTRAC_PRUNER_H

struct webapp;
struct pruner;

#define PRUNE_EVERY (24 * 3600.0)

/* NULL when no retention is set. */
struct pruner *pruner_new(struct webapp *app);
/* Stops the schedule and a prune under way. NULL-safe. */
void pruner_free(struct pruner *p);
#endif
