using EventGateway.Model;
using EventGateway.Workflows.Execution;

namespace EventGateway.Workflows.Controller;

/// <summary>
/// The controller's observers as one: those given at construction and those that come and go later (egw run's
/// log streaming, tests). Like a C# event: adding and removing are safe from any thread, and each notification
/// goes to the observers registered when it starts, in the order they were registered.
/// </summary>
internal sealed class WorkflowObservers(IEnumerable<IWorkflowObserver> initial) : IWorkflowObserver
{
    private readonly Lock _gate = new();
    private volatile IWorkflowObserver[] _all = [.. initial];

    public IDisposable Add(IWorkflowObserver observer)
    {
        lock (_gate) _all = [.. _all, observer];
        return new Registration(this, observer);
    }

    private void Remove(IWorkflowObserver observer)
    {
        lock (_gate)
        {
            var i = Array.LastIndexOf(_all, observer); // as an event's -=: the latest registration
            if (i >= 0) _all = [.. _all[..i], .. _all[(i + 1)..]];
        }
    }

    public void Completed(Workflow workflow)
    {
        foreach (var o in _all) o.Completed(workflow);
    }

    public void StatusSaved(Workflow workflow)
    {
        foreach (var o in _all) o.StatusSaved(workflow);
    }

    public void StepStarted(Workflow workflow, NodeStatus node, StepKey step)
    {
        foreach (var o in _all) o.StepStarted(workflow, node, step);
    }

    public void StepFinished(Workflow workflow, NodeStatus node, StepKey step)
    {
        foreach (var o in _all) o.StepFinished(workflow, node, step);
    }

    private sealed class Registration(WorkflowObservers owner, IWorkflowObserver observer) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) owner.Remove(observer);
        }
    }
}
