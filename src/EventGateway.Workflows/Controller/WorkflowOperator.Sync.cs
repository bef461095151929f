using EventGateway.Model;
using EventGateway.Workflows.Synchronization;

namespace EventGateway.Workflows.Controller;

// Synchronization (mutexes and semaphores). The operator asks the controller's in-memory LockTable directly
// rather than through OperateResult: granting a lock and starting the node are one decision in one pass, and a
// round trip through the controller would need a second pass and a "requested" state in the status for every
// acquisition. The table never waits and does no I/O (limits are fed in from ConfigMap reads), so the pass
// stays pure. The status records grants (restored from it after a restart) and is rebuilt at the end of each
// pass for what is waited on.
public sealed partial class WorkflowOperator
{
    /// <summary>The controller's lock table; required by workflows and templates with synchronization.</summary>
    public LockTable? Locks { get; init; }

    /// <summary>The lock the workflow itself waits for in this pass (workflow-level synchronization).</summary>
    private LockName? _workflowWaitsFor;

    /// <summary>Whether this pass asked for a lock; with nothing recorded either, there is nothing to settle.</summary>
    private bool _locksAsked;

    private string WorkflowHolder => LockTable.WorkflowHolder(_wf.NamespaceOrDefault, WfName);

    /// <summary>
    /// Workflow-level synchronization: true while the workflow must wait (or has just ended: stopped while it
    /// waited, or its locks cannot be had). Nothing runs before every lock is held. Asked on every pass, so a
    /// workflow set running again by retry takes its locks again; such a workflow has no step in flight.
    /// </summary>
    private bool WaitsForWorkflowLocks()
    {
        _workflowWaitsFor = null;
        if (Spec.Synchronization is not { } sync || Holds(WorkflowHolder)) return false;
        _wf.Status ??= new WorkflowStatus();
        Status.Nodes ??= [];
        if (_wf.Spec.Shutdown is { Length: > 0 } shutdown)
        {
            Finish(WorkflowPhase.Failed, StoppedMessage(shutdown));
            return true;
        }
        // Built only for lock names that need rendering: a workflow waiting for its lock is looked at again at
        // every release, and most lock names are plain.
        VariableScope? globals = null;
        var outcome = Acquire(WorkflowHolder, sync, text => text.Contains("{{", StringComparison.Ordinal) ? (globals ??= BuildGlobals()).Render(text) : text);
        if (outcome.Granted)
        {
            Status.Message = null;
            return false;
        }
        if (outcome.Failed)
        {
            Finish(WorkflowPhase.Failed, outcome.Message);
            return true;
        }
        if (Status.Phase is null) Status.Phase = WorkflowPhase.Pending;
        (Status.Message, _workflowWaitsFor) = (outcome.Message, outcome.WaitingFor);
        return true;
    }

    /// <summary>
    /// Template-level synchronization: true while the node waits (Pending, saying for which lock) or has failed
    /// because its locks cannot be had. A node with a retry strategy holds its locks across all attempts.
    /// </summary>
    private bool WaitsForTemplateLocks(NodeStatus node, Template tmpl, VariableScope scope)
    {
        if (tmpl.Synchronization is not { } sync) return false;
        var holder = LockTable.NodeHolder(_wf.NamespaceOrDefault, WfName, node.Id);
        if (Holds(holder)) return false;
        var outcome = Acquire(holder, sync, scope.Render);
        if (outcome.Granted)
        {
            if (node.SynchronizationStatus is not null) node.Message = null;
            node.SynchronizationStatus = null;
            if (node.Type != NodeType.Pod) node.Phase = NodePhase.Running;
            return false;
        }
        if (outcome.Failed)
        {
            node.SynchronizationStatus = null;
            Complete(node, NodePhase.Error, outcome.Message);
            if (node.Type == NodeType.Pod) _activePods--;
            return true;
        }
        (node.Phase, node.Message) = (NodePhase.Pending, outcome.Message);
        node.SynchronizationStatus = new NodeSynchronizationStatus { Waiting = outcome.WaitingFor!.Key };
        return true;
    }

    private Acquisition Acquire(string holder, Model.Synchronization sync, Func<string, string> render)
    {
        if (Locks is null) return new Acquisition(false, true, "synchronization needs the controller's lock table", null);
        _locksAsked = true;
        var (names, error) = LockName.Of(sync, _wf.NamespaceOrDefault, render);
        if (error is not null) return new Acquisition(false, true, error, null);
        var outcome = Locks.TryAcquire(holder, names, Spec.Priority ?? 0, _wf.Metadata.CreationTimestamp ?? DateTimeOffset.MinValue);
        if (outcome.Granted) RecordHolding(holder, names);
        return outcome;
    }

    private bool Holds(string holder)
    {
        var s = _wf.Status?.Synchronization;
        return s?.Mutex?.Holding?.Any(h => h.Holder == holder) == true
            || s?.Semaphore?.Holding?.Any(h => h.Holders?.Contains(holder) == true) == true;
    }

    private void RecordHolding(string holder, IReadOnlyList<LockName> names)
    {
        var s = Status.Synchronization ??= new SynchronizationStatus();
        foreach (var name in names)
        {
            if (!name.IsSemaphore)
            {
                ((s.Mutex ??= new MutexStatus()).Holding ??= []).Add(new MutexHolding { Mutex = name.Key, Holder = holder });
                continue;
            }
            var holding = (s.Semaphore ??= new SemaphoreStatus()).Holding ??= [];
            var entry = holding.FirstOrDefault(h => h.Semaphore == name.Key);
            if (entry is null) holding.Add(entry = new SemaphoreHolding { Semaphore = name.Key, Holders = [] });
            (entry.Holders ??= []).Add(holder);
        }
    }

    /// <summary>
    /// End of every pass: nodes that ended give their locks back (or leave the queue they waited in), a
    /// finished workflow records nothing held (the controller releases it), and the waiting entries are
    /// rebuilt with who holds those locks now.
    /// </summary>
    private void SettleLocks()
    {
        if (_wf.Status is null || Locks is null || (Status.Synchronization is null && !_locksAsked)) return;
        _locksAsked = false;
        if (Status.IsCompleted)
        {
            Status.Synchronization = null;
            foreach (var n in Status.Nodes?.Values.AsEnumerable() ?? []) n.SynchronizationStatus = null;
            return;
        }
        var waiting = new List<LockName>();
        if (_workflowWaitsFor is { } own) waiting.Add(own);
        foreach (var n in Status.Nodes?.Values.AsEnumerable() ?? [])
        {
            if (n.SynchronizationStatus?.Waiting is not { } key) continue;
            if (!n.Fulfilled && LockName.Parse(key) is { } name) { waiting.Add(name); continue; }
            n.SynchronizationStatus = null;
            Locks.Release(LockTable.NodeHolder(_wf.NamespaceOrDefault, WfName, n.Id));
        }
        var s = Status.Synchronization;
        if (s is null && waiting.Count == 0) return;
        s ??= new SynchronizationStatus();
        s.Mutex?.Holding?.RemoveAll(h => ReleaseIfEnded(h.Holder!));
        s.Semaphore?.Holding?.ForEach(h => h.Holders?.RemoveAll(ReleaseIfEnded));
        s.Semaphore?.Holding?.RemoveAll(h => h.Holders is not { Count: > 0 });
        var distinct = waiting.DistinctBy(w => w.Key).ToList();
        SetWaiting(s, distinct);
        Status.Synchronization = Empty(s) ? null : s;
    }

    /// <summary>A node holder whose node has ended (or is gone) releases its locks.</summary>
    private bool ReleaseIfEnded(string holder)
    {
        if (holder == WorkflowHolder) return false;
        var nodeId = holder[(holder.LastIndexOf('/') + 1)..];
        if (Status.Nodes!.GetValueOrDefault(nodeId) is { Fulfilled: false }) return false;
        Locks!.Release(holder);
        return true;
    }

    private void SetWaiting(SynchronizationStatus s, List<LockName> waiting)
    {
        var mutexes = waiting.Where(w => !w.IsSemaphore)
            .Select(w => new MutexHolding { Mutex = w.Key, Holder = Locks!.Holders(w).FirstOrDefault() }).ToList();
        var semaphores = waiting.Where(w => w.IsSemaphore)
            .Select(w => new SemaphoreHolding { Semaphore = w.Key, Holders = [.. Locks!.Holders(w)] }).ToList();
        if (mutexes.Count > 0 || s.Mutex is not null) (s.Mutex ??= new MutexStatus()).Waiting = mutexes.Count > 0 ? mutexes : null;
        if (semaphores.Count > 0 || s.Semaphore is not null) (s.Semaphore ??= new SemaphoreStatus()).Waiting = semaphores.Count > 0 ? semaphores : null;
        if (s.Mutex is { Holding: null or { Count: 0 }, Waiting: null }) s.Mutex = null;
        if (s.Semaphore is { Holding: null or { Count: 0 }, Waiting: null }) s.Semaphore = null;
    }

    private static bool Empty(SynchronizationStatus s) => s.Mutex is null && s.Semaphore is null;
}
