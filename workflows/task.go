package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/incidentflow/incidentflow"
	"github.com/incidentflow/incidentflow/dsl"
)

// UpdateCompleteTask marks a follow-up done.
const UpdateCompleteTask = "complete_task"

// CompleteTaskInput is the complete_task update's argument.
type CompleteTaskInput struct {
	Task string `json:"task" limit:"line,100"`
	By   string `json:"by" limit:"line,100"`
	Note string `json:"note,omitempty" limit:"text,10000"`
}

// task creates a follow-up, tells its owner, and waits for it to be done when
// the step says so.
func (r *run) task(ctx workflow.Context, s *dsl.Step, ref, key string) (failed bool) {
	t := s.Task
	f := frame(ctx)
	if rf := r.resumed(ctx); rf != nil && rf.Task != "" {
		task := r.taskByID(rf.Task)
		if rf.Phase == phaseTelling && r.tellOwner(ctx, s, ref, key, task) {
			rf.Failed = true
		}
		rf.Phase = ""
		return r.awaitTask(ctx, s, task) || rf.Failed
	}
	data := dsl.TemplateData(r.messageFacts(s), r.in.Links)
	title, err := dsl.Render(t.Title, data)
	description := ""
	if err == nil {
		description, err = dsl.Render(t.Description, data)
	}
	if err != nil {
		r.stepFailed(ctx, s, ref, fmt.Sprintf("%s: the task could not be written: %v", s.Label(), err))
		return true
	}
	owner := t.Owner.ID
	if t.Owner.Kind == "role" {
		owner = r.state.Roles[t.Owner.ID]
	}
	now := workflow.Now(ctx)
	r.state.TaskCount++
	task := incidentflow.Task{ID: fmt.Sprintf("%s-T%d", r.state.Ref, r.state.TaskCount), Ref: r.state.Ref, Step: ref, Title: title,
		Description: description, Owner: owner, Status: "open", CreatedAt: now}
	if t.Owner.Kind == "role" && r.in.Features >= FeatureTasksFollowRoles {
		task.Role = t.Owner.ID
	}
	if t.Due != nil {
		due := t.Due.After(now, r.in.Calendar)
		task.DueAt = &due
	}
	r.state.Tasks = append(slices.Clone(r.state.Tasks), task)
	f.Task = task.ID
	r.output(s, "id", task.ID)
	msg := fmt.Sprintf("Follow-up %s created: %s", task.ID, title)
	if owner != "" {
		msg += ", owned by " + owner
	} else {
		msg += fmt.Sprintf(", for the %s, which nobody holds yet", t.Owner.ID)
		if task.Role != "" {
			msg += ": whoever takes it owns the task"
		}
	}
	r.record(ctx, incidentflow.Change{Tasks: []incidentflow.Task{task}}, r.event(ctx, "task_created", ref, "", msg, map[string]any{"task": task.ID}))

	// Until the owner has been told, a new run tells them (again: the
	// delivery's key makes a second send a no-op).
	f.Phase = phaseTelling
	if r.tellOwner(ctx, s, ref, key, task) {
		failed, f.Failed = true, true
	}
	f.Phase = ""
	return r.awaitTask(ctx, s, task) || failed
}

// phaseTelling is the phase of a task step telling its owner.
const phaseTelling = "telling"

// tellOwner tells a task's owner, if it has one, and reports whether the
// delivery failed for good.
func (r *run) tellOwner(ctx workflow.Context, s *dsl.Step, ref, key string, task incidentflow.Task) (failed bool) {
	if task.Owner == "" {
		return false
	}
	tell := fmt.Sprintf("You own follow-up %s of %s: %s.", task.ID, r.state.Ref, task.Title)
	if task.DueAt != nil {
		tell += " Due " + r.localTime(*task.DueAt) + "."
	}
	tell += " Mark it done: " + dsl.LinkMarker(dsl.LinkComplete, task.ID)
	return r.deliver(ctx, s, ref, key, []dsl.Target{{Kind: "person", ID: task.Owner}}, tell)
}

// followRole hands the open tasks that follow role to its holder now, who
// takes over from whoever held it before: the timeline says so, the store
// hears of the new owner, and the new owner is told as the first was (key
// names the change of hands, for the deliveries' keys). The telling goes
// on beside the caller, an update or a set step, which does not wait for it.
func (r *run) followRole(ctx workflow.Context, role, key string) {
	holder := r.state.Roles[role]
	if holder == "" {
		return
	}
	tasks := slices.Clone(r.state.Tasks)
	for i := range tasks {
		t := &tasks[i]
		if t.Role != role || t.Status != "open" || t.Owner == holder {
			continue
		}
		from := ""
		if t.Owner != "" {
			from = " from " + t.Owner
		}
		t.Owner = holder
		r.state.Tasks = tasks
		r.record(ctx, incidentflow.Change{Tasks: []incidentflow.Task{*t}}, r.event(ctx, "task_owner_changed", t.Step, "",
			fmt.Sprintf("Follow-up %s '%s' is now owned by %s, who took the %s role%s", t.ID, t.Title, holder, role, from),
			map[string]any{"task": t.ID, "owner": holder, "role": role}))
		s := r.stepByRef(t.Step)
		if s == nil {
			continue
		}
		task, tellKey := *t, fmt.Sprintf("%s/%s", key, t.ID)
		// Counted as a delivery from now, so the run does not continue as
		// new before the telling has begun.
		r.delivering++
		tctx, stop := workflow.WithCancel(r.mainCtx)
		told := false
		workflow.Go(tctx, func(c workflow.Context) {
			defer func() { r.delivering--; told = true }()
			r.tellOwner(workflow.WithValue(c, frameKey{}, &Frame{Key: tellKey}), s, task.Step, tellKey, task)
		})
		// A task done (or moved on) while its holder is being told needs
		// telling no more: the telling, retrying a channel that is down,
		// stops rather than tell them of work that is not theirs.
		workflow.Go(tctx, func(c workflow.Context) {
			_ = workflow.Await(c, func() bool {
				now := r.taskByID(task.ID)
				return told || now.Status == "done" || now.Owner != holder
			})
			stop()
		})
	}
}

// stepByRef finds a step by its ref: its id, else its path.
func (r *run) stepByRef(ref string) *dsl.Step {
	if s := r.stepAt(ref); s != nil {
		return s
	}
	var found *dsl.Step
	dsl.WalkProcess(&r.in.Process, func(s *dsl.Step) {
		if s.ID == ref && found == nil {
			found = s
		}
	})
	return found
}

// awaitTask waits until the task is done, when its step says to.
func (r *run) awaitTask(ctx workflow.Context, s *dsl.Step, task incidentflow.Task) bool {
	if !s.Task.Wait {
		return false
	}
	isDone := func() bool { return r.taskByID(task.ID).Status == "done" }
	done := r.activate(ctx, Activity{Step: s.Label(), Kind: "task", Waiting: "waiting for " + task.ID + " to be done", Until: task.DueAt})
	defer done()
	if workflow.Await(ctx, isDone) != nil {
		return false
	}
	r.output(s, "done", true)
	r.output(s, "by", r.taskByID(task.ID).DoneBy)
	return false
}

func (r *run) taskByID(id string) incidentflow.Task {
	i := slices.IndexFunc(r.state.Tasks, func(t incidentflow.Task) bool { return t.ID == id })
	if i < 0 {
		return incidentflow.Task{}
	}
	return r.state.Tasks[i]
}

func (r *run) validateCompleteTask(in CompleteTaskInput) error {
	if err := r.validateRequest(in); err != nil {
		return err
	}
	if strings.TrimSpace(in.By) == "" {
		return refused("say who completed it: \"by\" is required")
	}
	switch t := r.taskByID(in.Task); {
	case t.ID == "":
		return refused("incident %s has no task %s", r.state.Ref, in.Task)
	case t.Status == "done":
		return refused("task %s was already done by %s at %s", t.ID, t.DoneBy, t.DoneAt.UTC().Format(time.RFC3339))
	}
	return nil
}

func (r *run) completeTask(ctx workflow.Context, in CompleteTaskInput) (State, error) {
	now := workflow.Now(ctx)
	tasks := slices.Clone(r.state.Tasks)
	i := slices.IndexFunc(tasks, func(t incidentflow.Task) bool { return t.ID == in.Task })
	tasks[i].Status, tasks[i].DoneBy, tasks[i].DoneAt, tasks[i].Note = "done", in.By, &now, in.Note
	r.state.Tasks = tasks
	msg := fmt.Sprintf("Follow-up %s done by %s: %s", in.Task, in.By, tasks[i].Title)
	if in.Note != "" {
		msg += " (" + in.Note + ")"
	}
	r.flush(ctx, r.record(ctx, incidentflow.Change{Tasks: []incidentflow.Task{tasks[i]}}, r.event(ctx, "task_done", tasks[i].Step, in.By, msg, nil)))
	return r.state, nil
}
