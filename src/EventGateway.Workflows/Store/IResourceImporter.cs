using EventGateway.Model;

namespace EventGateway.Workflows.Store;

/// <summary>Writing objects exactly as another store kept them, for moving a store (<c>egw store copy</c>).</summary>
public interface IResourceImporter
{
    /// <summary>
    /// Writes the objects with their uid, creationTimestamp, generation and status kept, replacing same-named ones, all in
    /// one transaction. Versions are this store's own, handed out in the order given (give them oldest first).
    /// </summary>
    Task ImportAsync(IReadOnlyList<Resource> resources, CancellationToken ct = default);
}
