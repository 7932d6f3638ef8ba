package workflows

import "github.com/incidentflow/incidentflow/activities"

// a names activities by method reference without an instance: the worker
// registers the real *activities.Activities, the workflow only schedules them.
var a *activities.Activities
