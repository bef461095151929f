using System.Collections.Concurrent;
using EventGateway.Model;

namespace EventGateway.Workflows.Store;

/// <summary>
/// Reads Secret keys for listeners, cached and dropped on every change of a Secret, so a rotated
/// token takes effect on the next request without restarting anything.
/// </summary>
public sealed class SecretResolver : IDisposable
{
    private readonly IResourceStore _store;
    private readonly ConcurrentDictionary<(string Ns, string Name), Task<Secret?>> _cache = new();
    private readonly IDisposable _watch;

    public SecretResolver(IResourceStore store)
    {
        _store = store;
        _watch = store.Watch("Secret", change => _cache.TryRemove((change.Namespace, change.Name), out _));
    }

    /// <summary>The decoded value, or null when the Secret or key does not exist.</summary>
    public async ValueTask<string?> ReadAsync(string @namespace, SecretKeySelector selector, CancellationToken ct = default)
    {
        if (selector.Name is null || selector.Key is null) return null;
        var secret = await _cache.GetOrAdd((@namespace, selector.Name), k => _store.GetAsync<Secret>(k.Ns, k.Name, CancellationToken.None)).ConfigureAwait(false);
        return secret?.Value(selector.Key);
    }

    /// <summary>As <see cref="ReadAsync"/>, but a missing value is an error naming the Secret and key.</summary>
    public async ValueTask<string> RequireAsync(string @namespace, SecretKeySelector selector, string field, CancellationToken ct = default) =>
        await ReadAsync(@namespace, selector, ct).ConfigureAwait(false)
        ?? throw new InvalidOperationException($"{field}: secret {@namespace}/{selector.Name} has no key '{selector.Key}'");

    public void Dispose() => _watch.Dispose();
}
