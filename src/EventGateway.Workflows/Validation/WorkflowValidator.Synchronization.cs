namespace EventGateway.Workflows.Validation;

public sealed partial class WorkflowValidator
{
    private const string NoDatabase =
        "database-backed locks need Argo's synchronization database, which this engine does not have; with its single controller a plain lock gives the same exclusion: remove 'database'";

    /// <summary>spec.synchronization and templates[].synchronization: Argo 4.0's plural form, every lock named.</summary>
    private static void ValidateSynchronization(Model.Synchronization? sync, string at, Action<string, string> fail)
    {
        if (sync is null) return;
        // Argo 4.0 removed the singular fields; say what to write rather than "unknown field".
        if (sync.Mutex is not null)
            fail($"{at}.mutex", $"removed in Argo Workflows 4.0: write 'mutexes: [{{name: {sync.Mutex.Name ?? "NAME"}}}]' instead (argo convert rewrites it)");
        if (sync.Semaphore is not null)
            fail($"{at}.semaphore", $"removed in Argo Workflows 4.0: write 'semaphores: [{{configMapKeyRef: {{name: {sync.Semaphore.ConfigMapKeyRef?.Name ?? "NAME"}, key: {sync.Semaphore.ConfigMapKeyRef?.Key ?? "KEY"}}}}}]' instead (argo convert rewrites it)");
        if (sync is { Mutexes: null or { Count: 0 }, Semaphores: null or { Count: 0 }, Mutex: null, Semaphore: null })
            fail(at, "locks nothing: list mutexes or semaphores");

        var mutexes = sync.Mutexes ?? [];
        for (var i = 0; i < mutexes.Count; i++)
        {
            var m = mutexes[i];
            LockPart(m.Name, $"{at}.mutexes[{i}].name", "a mutex needs a name", fail);
            if (m.Namespace is not null) LockPart(m.Namespace, $"{at}.mutexes[{i}].namespace", "an empty namespace names none", fail);
            if (m.Database == true) fail($"{at}.mutexes[{i}].database", NoDatabase);
        }
        var semaphores = sync.Semaphores ?? [];
        for (var i = 0; i < semaphores.Count; i++)
        {
            var s = semaphores[i];
            var sat = $"{at}.semaphores[{i}]";
            if (s.Database is not null) fail($"{sat}.database", NoDatabase);
            if (s.ConfigMapKeyRef is not { } r)
            {
                if (s.Database is null) fail($"{sat}.configMapKeyRef", "missing: a semaphore needs configMapKeyRef {name, key} naming the ConfigMap key that holds its limit");
                continue;
            }
            LockPart(r.Name, $"{sat}.configMapKeyRef.name", "name the ConfigMap that holds the limit", fail);
            LockPart(r.Key, $"{sat}.configMapKeyRef.key", "name the ConfigMap key that holds the limit", fail);
            if (s.Namespace is not null) LockPart(s.Namespace, $"{sat}.namespace", "an empty namespace names none", fail);
        }
    }

    /// <summary>Lock keys are "ns/Mutex/name" and "ns/ConfigMap/name/key": a part may not be empty or hold a '/'.</summary>
    private static void LockPart(string? value, string at, string missing, Action<string, string> fail)
    {
        if (string.IsNullOrEmpty(value)) fail(at, $"missing: {missing}");
        else if (value.Contains('/', StringComparison.Ordinal)) fail(at, $"'{value}' must not contain '/'");
    }
}
