namespace EventGateway.Model;

/// <summary>
/// Argo's synchronization (v3.6 and after): every listed lock must be held before the workflow or template
/// runs. The singular <c>mutex</c>/<c>semaphore</c> of older manifests were removed in Argo 4.0; they are
/// typed only so that validation can say what to write instead of "unknown field".
/// </summary>
public sealed class Synchronization
{
    public List<MutexRef>? Mutexes { get; set; }
    public List<SemaphoreRef>? Semaphores { get; set; }
    public MutexRef? Mutex { get; set; }
    public SemaphoreRef? Semaphore { get; set; }
}

/// <summary>A mutex by name; the workflow's namespace unless another is given.</summary>
public sealed class MutexRef
{
    public string? Name { get; set; }
    public string? Namespace { get; set; }
    public bool? Database { get; set; }
}

/// <summary>A semaphore whose limit is an integer under a key of a ConfigMap.</summary>
public sealed class SemaphoreRef
{
    public KeySelector? ConfigMapKeyRef { get; set; }
    public string? Namespace { get; set; }
    public System.Text.Json.Nodes.JsonNode? Database { get; set; }
}
