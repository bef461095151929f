namespace EventGateway.Languages.Depends;

/// <summary>
/// What a DAG <c>depends</c> expression knows about one task.
/// </summary>
/// <param name="Completed">True once the task's result is final (Argo's "fulfilled").</param>
/// <param name="Phase">Argo node phase: Succeeded, Failed, Error, Skipped, Omitted, Running, ...
/// A daemon task that is up is reported as <c>Completed</c> with phase Running (or the marker "Daemoned").</param>
/// <param name="IsLoopGroup">True for the task group of a withItems/withParam/withSequence task.</param>
/// <param name="ChildPhases">Phases of the group's iterations, used by AnySucceeded/AllFailed.</param>
public sealed record TaskOutcome(bool Completed, string? Phase, bool IsLoopGroup, IReadOnlyList<string> ChildPhases);
