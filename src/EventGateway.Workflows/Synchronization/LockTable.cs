using System.Globalization;

namespace EventGateway.Workflows.Synchronization;

/// <summary>The answer to a lock request: granted, waiting (with Argo's message), or failed for good.</summary>
public sealed record Acquisition(bool Granted, bool Failed, string? Message, LockName? WaitingFor)
{
    public static readonly Acquisition Yes = new(true, false, null, null);
}

/// <summary>
/// The one owner of the decision "who holds which lock". In memory and synchronous: the controller's reconcile
/// pass asks it directly (no I/O, no waiting), ConfigMap reads feed limits in from outside, and every change
/// that frees capacity re-enqueues the workflows next in line. Holders are "ns/workflow" (workflow level) or
/// "ns/workflow/nodeId" (template level), as in Argo's status.
/// </summary>
/// <remarks>
/// Waiters are queued per lock by priority (higher first), then creation time, then holder key: one total
/// order over all locks, so the waiter first in line for any lock it needs is first for all of them. Only the
/// front of a queue may acquire, and only all of its locks at once; nobody holds a lock while waiting for
/// another, so several locks never deadlock. A lock with neither holder nor waiter is forgotten (a semaphore's
/// limit is read again on next use), which bounds memory by the locks in use.
/// </remarks>
public sealed class LockTable(Action<string> enqueueWorkflow, Action<LockName> readLimit, ISharedLocks? shared = null)
{
    /// <summary>Workflows whose grant the shared locks refused (held on other replicas): asked again by <see cref="RetrySharedWaiters"/>.</summary>
    private readonly HashSet<string> _sharedWaiting = new(StringComparer.Ordinal);
    /// <summary>Waiters recorded in the shared locks (their order across replicas), so a waiter is written once, not at every pass.</summary>
    private readonly HashSet<string> _sharedRecorded = new(StringComparer.Ordinal);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _locks = new(StringComparer.Ordinal);
    /// <summary>Every lock a holder holds or waits for, for release by holder or workflow.</summary>
    private readonly Dictionary<string, HashSet<string>> _byHolder = new(StringComparer.Ordinal);
    /// <summary>Per ConfigMap ("ns/name"), the newest read applied, so a slow older read never wins.</summary>
    private readonly Dictionary<string, long> _limitReads = new(StringComparer.Ordinal);

    private sealed class Entry(LockName name)
    {
        public LockName Name { get; } = name;
        /// <summary>A mutex admits one; a semaphore's limit is unknown until its ConfigMap was read.</summary>
        public int? Limit { get; set; } = name.IsSemaphore ? null : 1;
        public string? LimitError { get; set; }
        public List<string> Holders { get; } = [];
        public SortedSet<Waiter> Queue { get; } = [];
        public Dictionary<string, Waiter> Waiting { get; } = new(StringComparer.Ordinal);
        public bool Unused => Holders.Count == 0 && Queue.Count == 0;
    }

    private readonly record struct Waiter(string Holder, long Priority, DateTimeOffset Created) : IComparable<Waiter>
    {
        public int CompareTo(Waiter other)
        {
            var c = other.Priority.CompareTo(Priority);
            if (c == 0) c = Created.CompareTo(other.Created);
            return c != 0 ? c : string.CompareOrdinal(Holder, other.Holder);
        }
    }

    /// <summary>Told of every lock a holder takes (Argo's locks_taken_total); not of holds restored after a restart.</summary>
    public Action<LockName>? Taken { get; init; }

    /// <summary>Every lock in use now with its holder and waiter counts (Argo's locks_held and locks_pending).</summary>
    public IReadOnlyList<(LockName Name, int Held, int Pending)> Usage()
    {
        lock (_gate) return [.. _locks.Values.Select(e => (e.Name, e.Holders.Count, e.Queue.Count))];
    }

    public static string WorkflowHolder(string ns, string workflow) => $"{ns}/{workflow}";

    public static string NodeHolder(string ns, string workflow, string nodeId) => $"{ns}/{workflow}/{nodeId}";

    /// <summary>The workflow queue key ("ns/name") of a holder.</summary>
    private static string WorkflowOf(string holder)
    {
        var first = holder.IndexOf('/');
        var second = holder.IndexOf('/', first + 1);
        return second < 0 ? holder : holder[..second];
    }

    /// <summary>
    /// Takes every lock for <paramref name="holder"/>, or none and queues it. Asking again is cheap and
    /// idempotent: a holder that has them is granted, a waiter keeps its place.
    /// </summary>
    public Acquisition TryAcquire(string holder, IReadOnlyList<LockName> names, long priority, DateTimeOffset created)
    {
        var wake = new List<string>();
        var reads = new List<LockName>();
        Acquisition result;
        lock (_gate)
        {
            var entries = names.Select(n => GetOrAdd(n, reads)).ToList();
            if (entries.All(e => e.Holders.Contains(holder))) return Acquisition.Yes;
            var me = new Waiter(holder, priority, created);
            foreach (var e in entries)
                if (!e.Holders.Contains(holder) && e.Waiting.TryAdd(holder, me))
                {
                    e.Queue.Add(me);
                    Index(holder, e.Name.Key);
                }
            result = Check(holder, entries, wake);
            if (result.Granted && shared is not null && entries.Where(e => !e.Holders.Contains(holder)).Select(e => (e.Name.Key, e.Limit!.Value)).ToList() is { Count: > 0 } taking
                && shared.TryHold(holder, taking, priority, created) is { } refused)
            {
                // Room here, none counting the other replicas' holders and the waiters before it: wait (recorded there
                // in its order), and ask again when they may have released.
                _sharedWaiting.Add(WorkflowOf(holder));
                _sharedRecorded.Add(holder);
                var first = entries.First(e => e.Name.Key == refused.Key);
                result = Waiting(first, $"Waiting for {first.Name} lock: {refused.Reason}");
            }
            else if (!result.Granted && !result.Failed && shared is not null && _sharedRecorded.Add(holder))
            {
                // Waiting behind this replica's own queue: the other replicas must see it too, or theirs could pass it.
                shared.Wait(holder, [.. entries.Where(e => !e.Holders.Contains(holder)).Select(e => e.Name.Key)], priority, created);
            }
            else if (result.Granted)
            {
                _sharedRecorded.Remove(holder);
                foreach (var e in entries.Where(e => !e.Holders.Contains(holder)))
                {
                    e.Queue.Remove(e.Waiting[holder]);
                    e.Waiting.Remove(holder);
                    e.Holders.Add(holder);
                    Taken?.Invoke(e.Name);
                }
                foreach (var e in entries) Notify(e, wake);
            }
            else if (result.Failed) Forget(holder, wake);
        }
        Flush(wake, reads);
        return result;
    }

    private Acquisition Check(string holder, List<Entry> entries, List<string> wake)
    {
        Acquisition? blocked = null;
        foreach (var e in entries)
        {
            if (e.Holders.Contains(holder)) continue;
            if (e.LimitError is { } error)
                return new Acquisition(false, true, $"Failed to acquire the synchronization lock {e.Name}: {error}", e.Name);
            if (blocked is not null) continue;
            if (e.Limit is not { } limit)
            {
                blocked = Waiting(e, $"Waiting for {e.Name} lock: reading its limit from ConfigMap {e.Name.Namespace}/{e.Name.Name}");
                continue;
            }
            var free = limit - e.Holders.Count;
            if (e.Queue.Min.Holder != holder)
            {
                // The front may not know capacity is free yet (it queued while the lock was full): wake it.
                if (free > 0) wake.Add(WorkflowOf(e.Queue.Min.Holder));
                blocked = Waiting(e, StatusMessage(e, free, limit));
            }
            else if (free <= 0) blocked = Waiting(e, StatusMessage(e, free, limit));
        }
        return blocked ?? Acquisition.Yes;
    }

    private static Acquisition Waiting(Entry e, string message) => new(false, false, message, e.Name);

    private static string StatusMessage(Entry e, int free, int limit) =>
        string.Create(CultureInfo.InvariantCulture, $"Waiting for {e.Name} lock. Lock status: {Math.Max(free, 0)}/{limit}");

    /// <summary>Asks again for the workflows the shared locks kept waiting (the controller calls it every second).</summary>
    public void RetrySharedWaiters()
    {
        List<string> retry;
        lock (_gate)
        {
            retry = [.. _sharedWaiting];
            _sharedWaiting.Clear();
        }
        foreach (var wf in retry) enqueueWorkflow(wf);
    }

    /// <summary>Gives up every lock the holder holds and its place in every queue; waiters next in line are woken.</summary>
    public void Release(string holder)
    {
        var wake = new List<string>();
        lock (_gate) Forget(holder, wake);
        Flush(wake, []);
    }

    /// <summary>Releases the workflow and all its nodes: the one call for every ending and for deletion.</summary>
    public void ReleaseWorkflow(string ns, string workflow)
    {
        var prefix = WorkflowHolder(ns, workflow);
        var wake = new List<string>();
        lock (_gate)
            foreach (var holder in _byHolder.Keys.Where(h => h == prefix || h.StartsWith(prefix + "/", StringComparison.Ordinal)).ToList())
                Forget(holder, wake);
        Flush(wake, []);
    }

    /// <summary>
    /// Rebuilds what a stored status records (controller start, for workflows still running): the locks held are
    /// granted again, without checking the limit (they were granted before the restart; a limit lowered meanwhile
    /// only delays newcomers until these holders finish), and the waiters take their places in the queues again,
    /// so a newcomer reconciled first cannot pass an older waiter that has not had its first pass yet.
    /// </summary>
    public void Restore(Model.Workflow wf)
    {
        var s = wf.Status?.Synchronization;
        var ns = wf.NamespaceOrDefault;
        var held = (s?.Mutex?.Holding ?? []).Select(h => (Lock: h.Mutex, Holder: h.Holder))
            .Concat((s?.Semaphore?.Holding ?? []).SelectMany(h => (h.Holders ?? []).Select(holder => (Lock: h.Semaphore, Holder: (string?)holder))))
            .ToList();
        var waiting = new List<(string? Lock, string Holder)>();
        var workflowHolder = WorkflowHolder(ns, wf.Name);
        // Nothing of a workflow runs before its own locks are held, so every lock it waits for is its own then.
        if (wf.Spec.Synchronization is not null && !held.Any(h => h.Holder == workflowHolder))
            waiting.AddRange((s?.Mutex?.Waiting ?? []).Select(w => w.Mutex).Concat((s?.Semaphore?.Waiting ?? []).Select(w => w.Semaphore))
                .Select(key => (key, workflowHolder)));
        foreach (var n in wf.Status?.Nodes?.Values.AsEnumerable() ?? [])
            if (n.SynchronizationStatus?.Waiting is { } key && !n.Fulfilled) waiting.Add((key, NodeHolder(ns, wf.Name, n.Id)));

        var reads = new List<LockName>();
        lock (_gate)
        {
            foreach (var (key, holder) in held)
            {
                if (holder is null || key is null || LockName.Parse(key) is not { } name) continue;
                var e = GetOrAdd(name, reads);
                if (!e.Holders.Contains(holder)) e.Holders.Add(holder);
                Index(holder, name.Key);
                shared?.Restore(holder, name.Key);
            }
            var me = (Priority: wf.Spec.Priority ?? 0, Created: wf.Metadata.CreationTimestamp ?? DateTimeOffset.MinValue);
            foreach (var (key, holder) in waiting)
            {
                if (key is null || LockName.Parse(key) is not { } name) continue;
                var e = GetOrAdd(name, reads);
                var w = new Waiter(holder, me.Priority, me.Created);
                if (e.Holders.Contains(holder) || !e.Waiting.TryAdd(holder, w)) continue;
                e.Queue.Add(w);
                Index(holder, name.Key);
                // Queued again across replicas too, with its original priority and time (a takeover dropped the dead owner's record).
                shared?.Wait(holder, [name.Key], me.Priority, me.Created);
                _sharedRecorded.Add(holder);
            }
        }
        Flush([], reads);
    }

    /// <summary>Who holds a lock now (for the waiting entries of a status).</summary>
    public IReadOnlyList<string> Holders(LockName name)
    {
        lock (_gate) return _locks.TryGetValue(name.Key, out var e) ? [.. e.Holders] : [];
    }

    /// <summary>Whether any lock in use takes its limit from this ConfigMap.</summary>
    public bool UsesConfigMap(string ns, string name)
    {
        lock (_gate) return _limitReads.ContainsKey($"{ns}/{name}");
    }

    /// <summary>
    /// Applies a read of a ConfigMap (<paramref name="data"/> null: not found) to every semaphore it limits.
    /// <paramref name="read"/> orders reads; an older one arriving late is ignored. Raising a limit admits
    /// waiters at once; lowering it lets holders finish; an unusable limit fails the waiters, saying why.
    /// </summary>
    public void SetLimits(string ns, string configMap, IReadOnlyDictionary<string, string>? data, long read)
    {
        var wake = new List<string>();
        lock (_gate)
        {
            var cm = $"{ns}/{configMap}";
            if (!_limitReads.TryGetValue(cm, out var applied) || read <= applied) return;
            _limitReads[cm] = read;
            foreach (var e in _locks.Values.Where(e => e.Name.IsSemaphore && e.Name.Namespace == ns && e.Name.Name == configMap))
            {
                (e.Limit, e.LimitError) = ParseLimit(e.Name, data);
                if (e.LimitError is not null) wake.AddRange(e.Queue.Select(w => WorkflowOf(w.Holder)));
                else Notify(e, wake);
            }
        }
        Flush(wake, []);
    }

    private static (int? Limit, string? Error) ParseLimit(LockName name, IReadOnlyDictionary<string, string>? data)
    {
        if (data is null) return (null, $"configmap \"{name.Name}\" not found in namespace \"{name.Namespace}\"");
        if (!data.TryGetValue(name.ConfigMapKey!, out var text)) return (null, $"configmap \"{name.Name}\" has no key \"{name.ConfigMapKey}\"");
        return int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var limit)
            ? (limit, null)
            : (null, $"configmap \"{name.Name}\" key \"{name.ConfigMapKey}\": '{text}' is not a non-negative integer");
    }

    private Entry GetOrAdd(LockName name, List<LockName> reads)
    {
        if (_locks.TryGetValue(name.Key, out var e)) return e;
        _locks[name.Key] = e = new Entry(name);
        if (name.IsSemaphore)
        {
            _limitReads.TryAdd($"{name.Namespace}/{name.Name}", 0);
            reads.Add(name);
        }
        return e;
    }

    private void Index(string holder, string key)
    {
        if (!_byHolder.TryGetValue(holder, out var keys)) _byHolder[holder] = keys = new HashSet<string>(StringComparer.Ordinal);
        keys.Add(key);
    }

    private void Forget(string holder, List<string> wake)
    {
        if (!_byHolder.Remove(holder, out var keys)) return;
        shared?.Release(holder);
        _sharedRecorded.Remove(holder);
        foreach (var key in keys)
        {
            if (!_locks.TryGetValue(key, out var e)) continue;
            e.Holders.Remove(holder);
            if (e.Waiting.Remove(holder, out var w)) e.Queue.Remove(w);
            if (e.Unused) Drop(e);
            else Notify(e, wake);
        }
    }

    private void Drop(Entry e)
    {
        _locks.Remove(e.Name.Key);
        if (e.Name.IsSemaphore && !_locks.Values.Any(o => o.Name.IsSemaphore && o.Name.Namespace == e.Name.Namespace && o.Name.Name == e.Name.Name))
            _limitReads.Remove($"{e.Name.Namespace}/{e.Name.Name}");
    }

    /// <summary>Wakes as many waiters, front first, as the lock has free places.</summary>
    private static void Notify(Entry e, List<string> wake)
    {
        if (e.Limit is not { } limit) return;
        var free = limit - e.Holders.Count;
        foreach (var w in e.Queue)
        {
            if (free-- <= 0) break;
            wake.Add(WorkflowOf(w.Holder));
        }
    }

    /// <summary>Outside the gate: callbacks may take their own locks or start I/O.</summary>
    private void Flush(List<string> wake, List<LockName> reads)
    {
        foreach (var wf in wake.Distinct(StringComparer.Ordinal)) enqueueWorkflow(wf);
        foreach (var r in reads) readLimit(r);
    }
}
