using System.Collections.Concurrent;

namespace EventGateway.Languages.Expr;

/// <summary>
/// Thread-safe memo for parsed expressions and compiled regexes. When full it is simply cleared: that
/// keeps memory bounded without LRU bookkeeping on the read path, and workflows reuse a small set of texts.
/// </summary>
internal sealed class BoundedCache<TValue>
{
    private readonly ConcurrentDictionary<string, TValue> entries = new(StringComparer.Ordinal);
    private readonly int capacity;
    private int count;

    public BoundedCache(int capacity)
    {
        this.capacity = capacity;
    }

    /// <summary>Entries actually held (a locking snapshot; meant for diagnostics and tests).</summary>
    public int Count => entries.Count;

    /// <summary>Returns the cached value or creates it; a factory that throws caches nothing.</summary>
    public TValue GetOrAdd(string key, Func<string, TValue> factory)
    {
        if (entries.TryGetValue(key, out var value))
        {
            return value;
        }

        value = factory(key);
        if (Interlocked.Increment(ref count) > capacity)
        {
            entries.Clear();
            Interlocked.Exchange(ref count, 1);
        }

        return entries.TryAdd(key, value) ? value : entries.GetValueOrDefault(key, value)!;
    }
}
