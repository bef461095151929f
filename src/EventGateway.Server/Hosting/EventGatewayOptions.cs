namespace EventGateway.Server.Hosting;

/// <summary>Service settings; validated once at start-up.</summary>
public sealed class EventGatewayOptions
{
    /// <summary>Where the SQLite store, step logs and artifacts live.</summary>
    public string DataDir { get; set; } = DefaultDataDir();

    /// <summary>Service-wide cap on concurrently running step processes; further steps wait as Pending.</summary>
    public int MaxProcesses { get; set; } = Math.Max(4, Environment.ProcessorCount * 32);

    /// <summary>--max-processes as given (null: the default). With a shared store it caps the steps of all replicas together.</summary>
    public int? MaxProcessesGiven { get; set; }

    /// <summary>This replica's own cap besides (<c>--max-processes-per-replica</c>); null: none but <see cref="MaxProcesses"/>.</summary>
    public int? MaxProcessesPerReplica { get; set; }

    /// <summary>The cap on running step processes over all replicas (a shared store and --max-processes); null: none.</summary>
    public int? ProcessCapAcrossReplicas => Store is null ? null : MaxProcessesGiven;

    /// <summary>What this process runs at once: its executor's cap.</summary>
    public int ReplicaMaxProcesses => MaxProcessesPerReplica is { } p ? Math.Min(p, MaxProcesses) : MaxProcesses;

    /// <summary>Run steps in bubblewrap when it is available.</summary>
    public bool Sandbox { get; set; } = true;

    /// <summary>How steps reach the network (<c>--step-network</c>): a private namespace per workflow by default.</summary>
    public Workflows.Execution.StepNetwork StepNetwork { get; set; } = Workflows.Execution.StepNetwork.Isolated;

    /// <summary>Per-step limits (<c>--step-memory</c>, <c>--step-pids</c>, <c>--step-open-files</c>); resources.limits.memory overrides memory.</summary>
    public Workflows.Execution.StepLimits StepLimits { get; set; } = Workflows.Execution.StepLimits.Default;

    /// <summary>Wall-clock limit of steps without an activeDeadlineSeconds (<c>--step-timeout</c>); null: none.</summary>
    public TimeSpan? StepTimeout { get; set; }

    /// <summary>
    /// The Docker Engine API endpoint (Docker or Podman, e.g. unix:///run/podman/podman.sock) of the container executor;
    /// null: steps run with the local executor (`--executor container --container-host URI`).
    /// </summary>
    public Uri? ContainerHost { get; set; }

    public TimeSpan StatusSaveInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Address the event sources' HTTP listeners bind to; webhooks come from outside, so all interfaces by default.</summary>
    public string EventListenAddress { get; set; } = "0.0.0.0";

    /// <summary>Directories whose manifests are applied at start and on change (<c>--manifests</c>).</summary>
    public List<string> ManifestDirectories { get; set; } = [];

    /// <summary>Where workflows without a repository of their own keep artifacts (<c>--artifact-repository</c>); null: the data directory.</summary>
    public Model.ArtifactRepository? ArtifactRepository { get; set; }

    /// <summary>Who the REST API admits: bearer tokens by default.</summary>
    public Security.ApiSecurityOptions Api { get; set; } = new();
    /// <summary>Loop items and nodes per workflow (<c>--max-loop-items</c>, <c>--max-workflow-nodes</c>).</summary>
    public Workflows.Validation.WorkflowLimits Limits { get; set; } = Workflows.Validation.WorkflowLimits.Default;

    public Events.Log.EventLogOptions EventLog { get; set; } = new();

    /// <summary>The shared event bus (<c>--event-bus nats://HOST:PORT</c>): the event log as a JetStream stream; null: the embedded SQLite log.</summary>
    public string? EventBus { get; set; }

    /// <summary>Where spans go over OTLP/HTTP (<c>--otlp-endpoint http://HOST:4318</c>); null: no exporter, and spans cost nothing.</summary>
    public string? OtlpEndpoint { get; set; }
    /// <summary>
    /// The shared store (<c>--store postgres://USER:PASS@HOST:PORT/DB</c>, or $EGW_STORE): resources, archive, sensor state and the
    /// artifactGC ledger in PostgreSQL; null: the embedded SQLite files and ledger in the data directory.
    /// </summary>
    public string? Store { get; set; }

    /// <summary>This replica's id among those sharing the store (<c>--replica-id</c>); null: hostname-pid-random.</summary>
    public string? ReplicaId { get; set; }

    /// <summary>How long a replica's leases live without renewal (<c>--lease-ttl</c>): ownership moves this long after a replica dies.</summary>
    public TimeSpan LeaseTtl { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Where the leases live (<c>--lease</c>): "postgres" (egw_leases in --store) or "kubernetes" (Lease objects; needs --kubernetes).</summary>
    public string Lease { get; set; } = "postgres";

    public Events.Sensors.SensorOptions Sensors { get; set; } = new();
    public Workflows.Retention.RetentionOptions Retention { get; set; } = new();

    /// <summary><c>--kubernetes</c>: EventSources, Sensors, templates, ConfigMaps and Secrets come from this cluster; null: not.</summary>
    public Kubernetes.KubernetesOptions? Kubernetes { get; set; }

    /// <summary><c>--executor kubernetes</c>: each step is a pod of the cluster of <see cref="Kubernetes"/>; null: another executor.</summary>
    public Kubernetes.Pods.PodExecutorOptions? Pods { get; set; }

    public static string DefaultDataDir() =>
        Environment.GetEnvironmentVariable("EGW_DATA_DIR") is { Length: > 0 } d ? d
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".egw");

    /// <summary>nats://HOST:PORT, as Argo Events' EventBus spec.jetstream.url names it.</summary>
    public static void ValidateEventBus(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var u) || u.Scheme != "nats" || u.Host.Length == 0)
            throw new ArgumentException($"--event-bus '{url}' is not a NATS URL: expected nats://HOST:PORT (a nats-server with JetStream, `nats-server -js`)");
        if (u.AbsolutePath is not ("" or "/") || u.Query.Length > 0)
            throw new ArgumentException($"--event-bus '{url}': a NATS URL has no path or query; expected nats://HOST:PORT");
    }

    /// <summary>What a second replica beside this one would lack (a shared store without a shared event log): said at start; null when nothing.</summary>
    public string? SingleReplicaWarning => Store is not null && EventBus is null
        ? "--store without --event-bus: this process keeps its event log in its data directory, so it must stay the only replica; to run several, give each --event-bus nats://HOST:PORT and an S3 --artifact-repository"
        : null;

    /// <summary>A shared store and a shared bus: several replicas may run, each with its own data directory, so what they share must be shared.</summary>
    private void ValidateReplicas()
    {
        if (EventBus is not null && ArtifactRepository?.S3 is null)
            throw new ArgumentException($"--store {Store}: several replicas may share this store, and a local artifact repository keeps a step's outputs in one replica's data directory, where the others cannot read them: give an S3 repository with --artifact-repository FILE (s3: {{endpoint, bucket, accessKeySecret, secretKeySecret}})");
        if (LeaseTtl < TimeSpan.FromSeconds(1)) throw new ArgumentException($"--lease-ttl must be at least 1s, got {LeaseTtl}");
        if (ReplicaId is { } id && (id.Length is 0 or > 200 || id.Any(c => char.IsWhiteSpace(c) || c == '/')))
            throw new ArgumentException($"--replica-id '{id}': 1 to 200 characters, no spaces or '/'");
    }

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(DataDir)) throw new ArgumentException("data directory must be set (--data-dir or EGW_DATA_DIR)");
        if (StepLimits.MemoryBytes is < 1 << 20) throw new ArgumentException($"--step-memory must be at least 1Mi, got {StepLimits.MemoryBytes}");
        if (StepLimits.Pids is < 1) throw new ArgumentException($"--step-pids must be at least 1, got {StepLimits.Pids}");
        if (StepLimits.OpenFiles is < 16) throw new ArgumentException($"--step-open-files must be at least 16, got {StepLimits.OpenFiles}");
        if (StepTimeout is { } t && t <= TimeSpan.Zero) throw new ArgumentException("--step-timeout must be positive");
        if (MaxProcesses < 1) throw new ArgumentException($"max processes must be at least 1, got {MaxProcesses}");
        if (MaxProcessesPerReplica < 1) throw new ArgumentException($"--max-processes-per-replica must be at least 1, got {MaxProcessesPerReplica}");
        if (StatusSaveInterval <= TimeSpan.Zero) throw new ArgumentException("status save interval must be positive");
        if (!System.Net.IPAddress.TryParse(EventListenAddress, out _)) throw new ArgumentException($"event listen address '{EventListenAddress}' is not an IP address");
        foreach (var d in ManifestDirectories)
            if (!Directory.Exists(d)) throw new ArgumentException($"manifest directory {d} does not exist");
        Api.Validate();
        Limits.Validate();
        EventLog.Validate();
        if (EventBus is not null) ValidateEventBus(EventBus);
        if (OtlpEndpoint is not null) Telemetry.OtlpTracing.Endpoint(OtlpEndpoint);
        if (Store is not null) Postgres.Schema.PostgresDatabase.ValidateUrl(Store);
        if (Store is not null) ValidateReplicas();
        Sensors.Validate();
        Retention.Validate();
        Kubernetes?.Validate();
        if (Lease is not ("postgres" or "kubernetes")) throw new ArgumentException($"--lease '{Lease}' is not one of postgres, kubernetes");
        if (Lease == "kubernetes" && (Kubernetes is null || Store is null))
            throw new ArgumentException("--lease kubernetes: Lease objects share the work of replicas that share a store and a cluster: it needs --kubernetes and --store postgres://...");
        Pods?.Validate(this);
        if (Kubernetes is not null && ManifestDirectories.Count > 0)
            throw new ArgumentException("--manifests and --kubernetes both supply EventSources, Sensors and templates: with --kubernetes the cluster is their source, so drop --manifests");
    }
}
