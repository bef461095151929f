namespace EventGateway.Workflows.Synchronization;

/// <summary>
/// A lock as Argo names it: "&lt;ns&gt;/Mutex/&lt;name&gt;" or "&lt;ns&gt;/ConfigMap/&lt;configmap&gt;/&lt;key&gt;".
/// A semaphore's limit is the integer under <see cref="ConfigMapKey"/> of its ConfigMap; a mutex is a limit of one.
/// </summary>
public sealed record LockName(string Namespace, string Name, string? ConfigMapKey)
{
    public bool IsSemaphore => ConfigMapKey is not null;

    public string Key => IsSemaphore ? $"{Namespace}/ConfigMap/{Name}/{ConfigMapKey}" : $"{Namespace}/Mutex/{Name}";

    public override string ToString() => Key;

    /// <summary>The locks a synchronization block asks for, names rendered in the caller's scope; or why it cannot.</summary>
    public static (IReadOnlyList<LockName> Locks, string? Error) Of(Model.Synchronization sync, string wfNamespace, Func<string, string> render)
    {
        var locks = new List<LockName>();
        foreach (var m in sync.Mutexes ?? [])
            locks.Add(new LockName(render(m.Namespace ?? wfNamespace), render(m.Name ?? ""), null));
        foreach (var s in sync.Semaphores ?? [])
            locks.Add(new LockName(render(s.Namespace ?? wfNamespace), render(s.ConfigMapKeyRef?.Name ?? ""), render(s.ConfigMapKeyRef?.Key ?? "")));
        foreach (var l in locks)
            if (l.Namespace.Length == 0 || l.Name.Length == 0 || l.ConfigMapKey is "" || l.Key.Contains("{{", StringComparison.Ordinal) || l.Key.Split('/').Length != (l.IsSemaphore ? 4 : 3))
                return ([], $"synchronization: lock '{l.Key}' is not a valid lock name");
        // The same lock listed twice is one lock: holding it twice would wait on itself.
        return (locks.DistinctBy(l => l.Key).ToList(), null);
    }

    /// <summary>Reads a key written in a status back into a lock name (crash recovery).</summary>
    public static LockName? Parse(string key)
    {
        var parts = key.Split('/');
        return parts switch
        {
            [var ns, "Mutex", var name] => new LockName(ns, name, null),
            [var ns, "ConfigMap", var cm, var k] => new LockName(ns, cm, k),
            _ => null,
        };
    }
}
