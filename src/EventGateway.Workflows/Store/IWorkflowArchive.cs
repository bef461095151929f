using EventGateway.Model;

namespace EventGateway.Workflows.Store;

/// <summary>
/// Finished workflows, kept after they leave the store (ttlStrategy, DELETE) so their history stays queryable:
/// Argo's workflow archive. Keyed by uid; logs are not archived. SQLite is the embedded implementation.
/// </summary>
public interface IWorkflowArchive
{
    /// <summary>Writes the finished workflow, replacing an earlier copy of the same uid (a retried run finishes again).</summary>
    Task ArchiveAsync(Workflow wf, CancellationToken ct = default);

    Task<bool> ContainsAsync(string uid, CancellationToken ct = default);

    Task<Workflow?> GetAsync(string uid, CancellationToken ct = default);

    /// <summary>The newest archived run of a name, e.g. to explain why a workflow's logs are gone.</summary>
    Task<Workflow?> FindAsync(string @namespace, string name, CancellationToken ct = default);

    /// <summary>Summaries (no nodes, no spec), newest archived first, at most <see cref="ArchiveQuery.Limit"/> per page.</summary>
    Task<ArchivePage> ListAsync(ArchiveQuery query, CancellationToken ct = default);

    Task<bool> DeleteAsync(string uid, CancellationToken ct = default);

    /// <summary>Argo's archiveTTL: drops workflows that finished before <paramref name="cutoff"/>; returns how many.</summary>
    Task<int> DeleteFinishedBeforeAsync(DateTimeOffset cutoff, CancellationToken ct = default);
}

/// <param name="Namespace">null: every namespace.</param>
/// <param name="Continue">the token of the previous page.</param>
public sealed record ArchiveQuery(string? Namespace, string? NamePrefix, LabelMatcher Labels, int Limit, string? Continue);

/// <param name="Continue">null on the last page.</param>
public sealed record ArchivePage(IReadOnlyList<Workflow> Items, string? Continue);
