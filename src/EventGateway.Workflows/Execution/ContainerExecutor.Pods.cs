using Docker.DotNet;
using Docker.DotNet.Models;

namespace EventGateway.Workflows.Execution;

/// <summary>
/// One network per pod, as in Kubernetes: a pod's containers (a containerSet's; main and its sidecars) join the network
/// namespace of the pod's infra container (<c>NetworkMode = container:INFRA</c>) and reach each other on 127.0.0.1.
/// The infra container runs egw's own launcher in its <c>--pause</c> mode, from an image egw imports once (no pause
/// image can be pulled offline). It carries the pod's labels, so deleting the workflow removes it, and its name is
/// derived from the pod's key, so a restarted service finds it again; it is removed when the pod's last container ends.
/// </summary>
public sealed partial class ContainerExecutor
{
    /// <summary>Marks a pod's infra container (its value: "infra").</summary>
    public const string PodLabel = "io.eventgateway.pod";

    private readonly SemaphoreSlim _podGate = new(1, 1);
    private readonly Dictionary<string, int> _podUsers = new(StringComparer.Ordinal); // infra name -> running containers
    private string? _pauseImage;

    /// <summary>The infra container of a pod: distinct from the pod's main container, whose name is <see cref="ContainerName"/>.</summary>
    public string InfraName(StepKey pod) => ContainerName(pod) + "-infra";

    /// <summary>Counts one more container in the pod, and starts (or finds, after a restart) its infra container.</summary>
    private async Task<string> JoinPodAsync(StepKey pod, CancellationToken ct)
    {
        var infra = InfraName(pod);
        await _podGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var existing = await InspectAsync(infra, ct).ConfigureAwait(false);
            if (existing is null)
            {
                var image = await PauseImageAsync(ct).ConfigureAwait(false);
                await _docker.Containers.CreateContainerAsync(new CreateContainerParameters
                {
                    Name = infra,
                    Image = image,
                    Entrypoint = PauseImage.Entrypoint,
                    Cmd = [],
                    Labels = new Dictionary<string, string>
                    {
                        [NamespaceLabel] = pod.Namespace,
                        [WorkflowLabel] = pod.Workflow,
                        [NodeLabel] = pod.NodeId,
                        [InstanceLabel] = Instance,
                        [PodLabel] = "infra",
                    },
                    HostConfig = new HostConfig
                    {
                        Privileged = false,
                        CapDrop = ["ALL"],
                        SecurityOpt = ["no-new-privileges"],
                        Ulimits = [new Ulimit { Name = "nofile", Soft = 64, Hard = 64 }, new Ulimit { Name = "nproc", Soft = 64, Hard = 64 }],
                    },
                }, ct).ConfigureAwait(false);
            }
            if (existing?.State?.Running != true)
                await _docker.Containers.StartContainerAsync(infra, new ContainerStartParameters(), ct).ConfigureAwait(false);
            _podUsers[infra] = _podUsers.GetValueOrDefault(infra) + 1;
            return infra;
        }
        finally { _podGate.Release(); }
    }

    public async Task<Func<bool, Task>?> HoldPodAsync(StepKey pod, CancellationToken ct)
    {
        await JoinPodAsync(pod, ct).ConfigureAwait(false);
        return ended => LeavePodAsync(pod, ended);
    }

    /// <summary>One container of the pod ended; the last one removes the infra container (unless the service is only stopping).</summary>
    private async Task LeavePodAsync(StepKey pod, bool ended)
    {
        var infra = InfraName(pod);
        await _podGate.WaitAsync().ConfigureAwait(false);
        try
        {
            var users = _podUsers.GetValueOrDefault(infra) - 1;
            if (users > 0) { _podUsers[infra] = users; return; }
            _podUsers.Remove(infra);
            if (ended) await RemoveAsync(infra).ConfigureAwait(false);
        }
        finally { _podGate.Release(); }
    }

    private async Task<string> PauseImageAsync(CancellationToken ct) => _pauseImage ??= await PauseImage.EnsureAsync(_docker, ct).ConfigureAwait(false);

    /// <summary>The address of a step's network: its own container's, or its pod's infra container's that it joined.</summary>
    private async Task<ContainerInspectResponse?> NetworkOwnerAsync(ContainerInspectResponse? inspected, CancellationToken ct) =>
        inspected?.HostConfig?.NetworkMode is { } mode && mode.StartsWith("container:", StringComparison.Ordinal)
            ? await InspectAsync(mode["container:".Length..], ct).ConfigureAwait(false)
            : inspected;
}
