using EventGateway.Model;
using EventGateway.Workflows.Execution;

namespace EventGateway.Workflows.Controller;

/// <summary>
/// What the controller tells others about the workflows it runs. Calls come from the controller's own threads
/// (the reconcile loop, a step's task), possibly at once: an observer does little and hands real work elsewhere.
/// Members default to doing nothing, so an observer implements only what it cares about.
/// </summary>
public interface IWorkflowObserver
{
    /// <summary>The workflow reached Succeeded, Failed or Error; its final status is saved.</summary>
    void Completed(Workflow workflow) { }

    /// <summary>A status was saved: what it says is durable (podGC removes only pods whose end is saved).</summary>
    void StatusSaved(Workflow workflow) { }

    /// <summary>A step got its process slot and started (or was adopted after a restart).</summary>
    void StepStarted(Workflow workflow, NodeStatus node, StepKey step) { }

    /// <summary>A step finished; <paramref name="step"/> says where its logs are.</summary>
    void StepFinished(Workflow workflow, NodeStatus node, StepKey step) { }
}
