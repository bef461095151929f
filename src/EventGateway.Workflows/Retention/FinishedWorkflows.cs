namespace EventGateway.Workflows.Retention;

/// <summary>
/// The finished workflows in the store, earliest finished first, for <see cref="RetentionOptions.MaxFinishedWorkflows"/>:
/// one entry per workflow name (a re-created or retried one replaces it). Thread-safe: completions, the store's
/// deletions and the reaper's loop arrive on different threads.
/// </summary>
internal sealed class FinishedWorkflows(int cap)
{
    public readonly record struct Entry(DateTimeOffset FinishedAt, string Key, string Uid);

    private static readonly Comparer<Entry> Order = Comparer<Entry>.Create((a, b) =>
        a.FinishedAt.CompareTo(b.FinishedAt) is var c and not 0 ? c
        : string.CompareOrdinal(a.Key, b.Key) is var k and not 0 ? k
        : string.CompareOrdinal(a.Uid, b.Uid));

    private readonly Lock _gate = new();
    private readonly SortedSet<Entry> _byFinish = new(Order);
    private readonly Dictionary<string, Entry> _byKey = new(StringComparer.Ordinal);

    public int Cap => cap;

    public void Add(string key, string uid, DateTimeOffset finishedAt)
    {
        lock (_gate)
        {
            if (_byKey.Remove(key, out var old)) _byFinish.Remove(old);
            var entry = new Entry(finishedAt, key, uid);
            _byKey[key] = entry;
            _byFinish.Add(entry);
        }
    }

    /// <summary>Forgets the workflow of that name (deleted).</summary>
    public void Remove(string key)
    {
        lock (_gate)
            if (_byKey.Remove(key, out var old)) _byFinish.Remove(old);
    }

    /// <summary>Forgets the entry only while it is still this run's: a newer one of the same name stays.</summary>
    public void Remove(string key, string uid)
    {
        lock (_gate)
            if (_byKey.TryGetValue(key, out var old) && old.Uid == uid)
            {
                _byKey.Remove(key);
                _byFinish.Remove(old);
            }
    }

    /// <summary>The earliest finished entry while more than the cap are kept; null within it.</summary>
    public Entry? OverCap()
    {
        lock (_gate) return _byKey.Count > cap ? _byFinish.Min : null;
    }
}
