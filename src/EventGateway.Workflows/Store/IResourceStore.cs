using EventGateway.Model;

namespace EventGateway.Workflows.Store;

/// <summary>
/// Kubernetes-style object store: objects by (kind, namespace, name), a global resourceVersion
/// for optimistic concurrency, and a change feed. SQLite is the embedded implementation; the
/// interface is what a PostgreSQL or Kubernetes API backed store would implement.
/// </summary>
public interface IResourceStore
{
    Task<T?> GetAsync<T>(string @namespace, string name, CancellationToken ct = default) where T : Resource;
    Task<IReadOnlyList<T>> ListAsync<T>(string? @namespace = null, CancellationToken ct = default) where T : Resource;

    /// <summary>Creates the object; assigns uid, resourceVersion, creationTimestamp and a name from generateName.</summary>
    /// <exception cref="ConflictException">an object with that name exists.</exception>
    Task<T> CreateAsync<T>(T resource, CancellationToken ct = default) where T : Resource;

    /// <summary>Replaces the object if its resourceVersion is still the one given.</summary>
    /// <exception cref="ConflictException">the object changed since it was read, or is gone.</exception>
    Task<T> UpdateAsync<T>(T resource, CancellationToken ct = default) where T : Resource;

    /// <summary>Creates or replaces regardless of version, as <c>kubectl apply</c> would for a whole object.</summary>
    Task<T> ApplyAsync<T>(T resource, CancellationToken ct = default) where T : Resource;

    /// <summary>Applies several objects in one transaction: all of them or none.</summary>
    Task<IReadOnlyList<Resource>> ApplyAllAsync(IReadOnlyList<Resource> resources, CancellationToken ct = default);

    Task<bool> DeleteAsync<T>(string @namespace, string name, CancellationToken ct = default) where T : Resource;

    /// <summary>Calls <paramref name="onChange"/> after each committed change of a kind. Handlers must be quick.</summary>
    IDisposable Watch(string kind, Action<ResourceChange> onChange);
}

public enum ChangeType { Added, Modified, Deleted }

public sealed record ResourceChange(ChangeType Type, string Kind, string Namespace, string Name, long ResourceVersion);

public sealed class ConflictException(string message) : Exception(message);

public sealed class NotFoundException(string message) : Exception(message);
