namespace EventGateway.Events.Sensors;

/// <summary>
/// The places of the sensor workflow cap when several replicas share the store: a place is taken in the shared
/// database before a trigger creates a workflow, in the one transaction that counts the others, so two sensors on
/// different replicas never both take the last one. A place is held first by the firing (its reservation), then by
/// the workflow it created, and freed when that workflow completes or is deleted.
/// </summary>
public interface ISensorWorkflowPlaces
{
    /// <summary>Takes a place for <paramref name="reservation"/> if the cap leaves room (already held: kept); returns whether it holds one and how many are held.</summary>
    Task<(bool Taken, int Held)> TryTakeAsync(string reservation, int max, CancellationToken ct);

    /// <summary>The firing created its workflow: the place is the workflow's now (taken for it if the firing had none).</summary>
    Task BindAsync(string? reservation, string @namespace, string name, CancellationToken ct);

    /// <summary>The firing created no workflow: its place goes.</summary>
    Task ReleaseAsync(string reservation, CancellationToken ct);

    /// <summary>The workflow completed or was deleted: its place goes.</summary>
    Task FreeAsync(string @namespace, string name, CancellationToken ct);
}
