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
        // Deleted once the store says so; what it left goes best effort: a step being launched this moment can race the
        // removal of its directory, and the controller removes what is left when that step ends (PodLauncher).
        try { executor.Forget(@namespace, name); }
        catch (IOException) { }
        try { artifacts.Forget(@namespace, name); }
        catch (IOException) { }
        return true;
    }
}
