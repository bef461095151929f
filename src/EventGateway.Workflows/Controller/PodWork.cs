using EventGateway.Model;

namespace EventGateway.Workflows.Controller;

/// <summary>A Pod node the operator decided to run: its rendered template and staged inputs.</summary>
public sealed record PodRequest(
    string NodeId,
    string NodeName,
    Template Template,
    IReadOnlyList<(string Path, Artifact Source)> InputArtifacts,
    TimeSpan? ActiveDeadline);

/// <summary>What came back from running a Pod node, ready to be written into its status; <c>Memoization</c> for memoized templates.</summary>
public sealed record PodResult(
    string NodeId,
    string Phase,
    string? Message,
    int? ExitCode,
    Outputs? Outputs,
    DateTimeOffset StartedAt,
    DateTimeOffset FinishedAt,
    MemoizationStatus? Memoization = null)
{
    /// <summary>A daemon step is running and ready: its scope goes on (see <see cref="DaemonReadiness"/>).</summary>
    public bool Daemoned { get; init; }

    /// <summary>Where the workflow's other steps reach this pod ({{steps.X.ip}}).</summary>
    public string? PodIP { get; init; }
}

/// <summary>The outcome of one reconcile pass.</summary>
public sealed record OperateResult(IReadOnlyList<PodRequest> Pods, IReadOnlyList<string> PodsToKill, DateTimeOffset? RequeueAt, bool Completed);
