using EventGateway.Model;
using EventGateway.Workflows.Artifacts;
using EventGateway.Workflows.Execution;
using EventGateway.Workflows.Store;

namespace EventGateway.Workflows.Retention;

/// <summary>
/// The one way a workflow is deleted (DELETE /api/v1/workflows/{ns}/{name}, ttlStrategy, a CronWorkflow's history
/// limits): the object, then everything it left: its steps' directories (logs, sandboxes) and its local artifacts.
/// The archive keeps its copy.
/// </summary>
public sealed class WorkflowDeleter(IResourceStore store, IStepExecutor executor, LocalArtifactRepository artifacts)
{
    /// <returns>false when there was no such workflow.</returns>
    public async Task<bool> DeleteAsync(string @namespace, string name, CancellationToken ct)
    {
        if (!await store.DeleteAsync<Workflow>(@namespace, name, ct).ConfigureAwait(false)) return false;
        executor.Forget(@namespace, name);
        artifacts.Forget(@namespace, name);
        return true;
    }
}
