using System.Collections.Frozen;
using System.Reflection;
using EventGateway.Model;

namespace EventGateway.Workflows.Store;

/// <summary>
/// The store's typed calls for a kind known only by name (from a manifest or a trigger's source), for the callers
/// that act on any kind the store keeps: resource templates and the sensors' k8s trigger.
/// </summary>
public sealed record StoreKind(
    Func<IResourceStore, string, CancellationToken, Task<IReadOnlyList<Resource>>> List,
    Func<IResourceStore, string, string, CancellationToken, Task<Resource?>> Get,
    Func<IResourceStore, Resource, CancellationToken, Task<Resource>> Create,
    Func<IResourceStore, Resource, CancellationToken, Task<Resource>> Update,
    Func<IResourceStore, string, string, CancellationToken, Task<bool>> Delete)
{
    private static StoreKind For<T>() where T : Resource => new(
        async (s, ns, ct) => [.. await s.ListAsync<T>(ns, ct).ConfigureAwait(false)],
        async (s, ns, name, ct) => await s.GetAsync<T>(ns, name, ct).ConfigureAwait(false),
        async (s, r, ct) => await s.CreateAsync((T)r, ct).ConfigureAwait(false),
        async (s, r, ct) => await s.UpdateAsync((T)r, ct).ConfigureAwait(false),
        (s, ns, name, ct) => s.DeleteAsync<T>(ns, name, ct));

    /// <summary>Every kind of <see cref="Resources.Kinds"/>, by its Kubernetes kind name.</summary>
    public static FrozenDictionary<string, StoreKind> All { get; } = Resources.Kinds.ToFrozenDictionary(k => k.Key,
        k => (StoreKind)typeof(StoreKind).GetMethod(nameof(For), BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(k.Value.Type).Invoke(null, null)!, StringComparer.Ordinal);
}
