namespace EventGateway.Workflows.Execution;

/// <summary>
/// Runs one step (an Argo Pod node) to completion. Implementations: the local sandboxed process
/// executor; later a Kubernetes pod executor. Calls are idempotent per node: after a restart the
/// executor adopts a step that is still running or already finished instead of starting it again.
/// </summary>
public interface IStepExecutor
{
    /// <summary>Runs or adopts the step. <paramref name="started"/> is called once it holds a process slot.</summary>
    /// <param name="stopWaiting">Stops waiting only; the step keeps running (service shutdown).</param>
    Task<StepOutcome> RunAsync(StepSpec spec, Action started, CancellationToken stopWaiting);

    /// <summary>Kills a running step's whole process tree (terminate, stop, deadline of an enclosing node).</summary>
    void Kill(StepKey key);

    /// <summary>
    /// Asks a running step to end (SIGTERM to its processes, as Kubernetes stops a container); the caller kills it
    /// after its grace period. An executor that cannot ask kills at once.
    /// </summary>
    void Terminate(StepKey key) => Kill(key);

    /// <summary>
    /// A TCP connection to <paramref name="port"/> on 127.0.0.1 in a running step's own network (a daemon's readiness
    /// probe: the workflow's namespace is not the service's). Throws <see cref="IOException"/> or a socket error when
    /// nothing answers.
    /// </summary>
    Task<System.Net.Sockets.Socket> ConnectAsync(StepKey key, int port, CancellationToken ct) => throw new NotSupportedException("this executor cannot reach a step's network");

    /// <summary>
    /// The address at which a running step is reached by the workflow's other steps (<c>{{steps.X.ip}}</c> of a daemon):
    /// 127.0.0.1 where a workflow's steps share one network namespace (the local executor).
    /// </summary>
    Task<string> PodIPAsync(StepKey key, CancellationToken ct) => Task.FromResult("127.0.0.1");

    /// <summary>
    /// Keeps a pod's shared network up while the pod runs, also between its containers (a containerSet's sequence);
    /// disposing with <c>ended</c> false (the service is only stopping) leaves it for adoption. Null: nothing to hold.
    /// </summary>
    Task<Func<bool, Task>?> HoldPodAsync(StepKey pod, CancellationToken ct) => Task.FromResult<Func<bool, Task>?>(null);

    /// <summary>Where a sandbox path of a finished step can be read on the host (outputs), never outside the step's own files: throws <see cref="OutputPathException"/> for a path that leads out.</summary>
    string HostPath(StepKey key, string sandboxPath);

    /// <summary>The durable log file of a step's stream ("stdout" or "stderr"); it may not exist (yet, or any more).</summary>
    string LogPath(StepKey key, string stream);

    /// <summary>Removes everything kept for a workflow's steps (logs, sandboxes).</summary>
    void Forget(string @namespace, string workflow);

    /// <summary>Removes everything kept for one finished step (logs, sandbox): podGC, or a step about to run again.</summary>
    void Forget(StepKey key);

    /// <summary>Whether the executor runs a step's image, so a container without `command` runs the image's entrypoint.</summary>
    bool RunsImages => false;
}

public readonly record struct StepKey(string Namespace, string Workflow, string NodeId);

public sealed record StepSpec(
    StepKey Key,
    string Image,
    IReadOnlyList<string> Argv,
    string? WorkingDir,
    IReadOnlyDictionary<string, string> Env,
    IReadOnlyList<StagedFile> Files,
    DateTimeOffset? Deadline)
{
    /// <summary>Directories shared with other steps (a containerSet's volumes), bind-mounted into the sandbox.</summary>
    public IReadOnlyList<SharedVolume> Volumes { get; init; } = [];

    /// <summary>The container's resources.limits; what it leaves out, the service's defaults decide.</summary>
    public StepLimits? Limits { get; init; }

    /// <summary>securityContext.runAsUser/runAsGroup (container over pod): the ids the step has inside its user namespace.</summary>
    public RunAs? RunAs { get; init; }

    /// <summary>
    /// The container's own command and args, apart (an executor that runs images applies them to the image's
    /// ENTRYPOINT and CMD as Kubernetes does); null: <see cref="Argv"/> is the whole command.
    /// </summary>
    public ImageCommand? Container { get; init; }

    /// <summary>
    /// The pod whose network the step shares (a containerSet's containers; main and its sidecars): they reach each other
    /// on 127.0.0.1. Null: the step is its own pod. The local executor's steps already share their workflow's network.
    /// </summary>
    public StepKey? Pod { get; init; }

    /// <summary>A sidecar (or a daemon's probe) runs within its pod's process slot: it never waits for one of its own.</summary>
    public bool InPodSlot { get; init; }

    /// <summary>Paths of the step's output parameters and artifacts: an executor whose steps' files vanish with the step (a container) copies them out after exit.</summary>
    public IReadOnlyList<string> OutputPaths { get; init; } = [];

    /// <summary>imagePullPolicy (Always, IfNotPresent, Never); null: IfNotPresent. Only an executor that runs images pulls.</summary>
    public string? PullPolicy { get; init; }

    /// <summary>resources.limits.cpu in thousandths of a CPU; applied by an executor that runs images (the local one has no rate limit).</summary>
    public long? CpuMillis { get; init; }

    /// <summary>securityContext.runAsNonRoot (container over pod): a step that would run as uid 0 is refused, as the kubelet does.</summary>
    public bool RunAsNonRoot { get; init; }

    /// <summary>The docker config documents of the workflow's imagePullSecrets, in order (<see cref="RegistryAuths"/>).</summary>
    public IReadOnlyList<string> PullSecrets { get; init; } = [];

    /// <summary>The rendered template and the workflow's spec: an executor that makes a Kubernetes pod takes its fields from them as they are.</summary>
    public Model.Template? Template { get; init; }

    /// <inheritdoc cref="Template"/>
    public Model.WorkflowSpec? WorkflowSpec { get; init; }
}

/// <summary>`command` replaces the image's ENTRYPOINT, `args` its CMD; null keeps the image's.</summary>
public sealed record ImageCommand(IReadOnlyList<string>? Command, IReadOnlyList<string>? Args);

/// <summary>A volume owned by <paramref name="Owner"/> (its pod), mounted at <paramref name="MountPath"/>; it lives as long as the owner's files.</summary>
public sealed record SharedVolume(StepKey Owner, string Name, string MountPath);

/// <summary>A file or directory on the host placed at an absolute path inside the sandbox before start.</summary>
public sealed record StagedFile(string SandboxPath, string? HostSource, string? Content, int? Mode = null);

public enum StepEnd { Exited, DeadlineExceeded, Killed, Lost, FailedToStart }

public sealed record StepOutcome(StepEnd End, int? ExitCode, string? Message, DateTimeOffset StartedAt, DateTimeOffset FinishedAt)
{
    public bool Succeeded => End == StepEnd.Exited && ExitCode == 0;
}
