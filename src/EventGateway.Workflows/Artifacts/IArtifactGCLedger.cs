using EventGateway.Model;

namespace EventGateway.Workflows.Artifacts;

/// <summary>
/// The durable list of saved artifacts that artifactGC will delete. Written when the artifact is saved, so the objects
/// are found again after the workflow object is gone (deletion) or the service restarted in between. Files in the data
/// directory for the embedded mode; a table in the shared database for replicas.
/// </summary>
public interface IArtifactGCLedger
{
    /// <summary>Remembers a saved artifact whose strategy deletes it later; other strategies are not recorded.</summary>
    void Record(Workflow wf, string nodeId, Artifact saved, string strategy);

    /// <summary>A workflow's entries, each with the id that <see cref="Remove"/> takes.</summary>
    IReadOnlyList<(string Id, ArtifactGCEntry Entry)> Entries(string @namespace, string workflow);

    /// <summary>Every workflow with entries: what a restarted service must look at.</summary>
    IEnumerable<(string Namespace, string Workflow)> Workflows();

    void Remove(string id);
}

public sealed record ArtifactGCEntry(string Uid, string NodeId, string Strategy, Artifact Artifact)
{
    /// <summary>Whether artifacts saved under <paramref name="strategy"/> go into the ledger.</summary>
    public static bool IsKept(string strategy) => strategy is ArtifactGC.OnWorkflowCompletion or ArtifactGC.OnWorkflowDeletion;
}
