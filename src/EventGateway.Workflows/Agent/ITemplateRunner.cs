using EventGateway.Model;
using EventGateway.Workflows.Controller;

namespace EventGateway.Workflows.Agent;

/// <summary>
/// Runs a rendered template inside the controller instead of as a step process (Argo's agent path):
/// http requests and resource actions on the store. Cancelling <c>ct</c> (kill, deadline of an enclosing node,
/// stop, terminate, shutdown) aborts the work; the runner then throws instead of returning a result.
/// </summary>
public interface ITemplateRunner
{
    TemplateType Type { get; }

    Task<PodResult> RunAsync(Workflow wf, PodRequest pod, CancellationToken ct);
}
