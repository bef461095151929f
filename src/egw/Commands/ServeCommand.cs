using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using EventGateway.Model.Manifests;
using EventGateway.Server.Api;
using EventGateway.Server.Hosting;
using EventGateway.Server.Security;
using EventGateway.Server.Ui;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using EventGateway.Workflows.Execution;
using EventGateway.Workflows.Retention;

namespace EventGateway.Cli.Commands;

internal static class ServeCommand
{
    public static Command Create()
    {
        var port = new Option<int>("--port") { Description = "port of the REST API", DefaultValueFactory = _ => 2746 };
        var address = new Option<string>("--address") { Description = "address to listen on", DefaultValueFactory = _ => "127.0.0.1" };
        var dataDir = new Option<string>("--data-dir") { Description = "store, logs and artifacts (default: $EGW_DATA_DIR or ~/.egw)", DefaultValueFactory = _ => EventGatewayOptions.DefaultDataDir() };
        var maxProcesses = new Option<int?>("--max-processes") { Description = "cap on concurrently running step processes; with --store postgres:// it holds over all replicas together (give each the same), further steps wait Pending in the order they asked (default: 32 per core, per replica)" };
        var noSandbox = new Option<bool>("--no-sandbox") { Description = "run steps as plain host processes, without bubblewrap isolation" };
        var manifests = new Option<string[]>("--manifests") { Description = "directory of manifests (EventSource, Sensor, WorkflowTemplate, ConfigMap, Secret) applied at start and on change; repeatable", AllowMultipleArgumentsPerToken = false };
        var eventsAddress = new Option<string>("--events-address") { Description = "address the event sources' listeners bind to", DefaultValueFactory = _ => "0.0.0.0" };
        var retention = new Option<string?>("--event-retention") { Description = "how long the event log keeps events (Go duration, default 168h)" };
        var eventBus = new Option<string?>("--event-bus") { Description = "keep the event log on a NATS JetStream server shared by several processes: nats://HOST:PORT (default: the embedded SQLite log in the data directory)" };
        var otlpEndpoint = new Option<string?>("--otlp-endpoint") { Description = "export traces (event → sensor → trigger → workflow → step) over OTLP/HTTP protobuf to this collector, e.g. http://127.0.0.1:4318 (default: no tracing)" };
        var store = new Option<string?>("--store")
        {
            Description = "keep resources, the archive, sensor state and the artifactGC ledger in PostgreSQL, shared by several processes: postgres://USER:PASSWORD@HOST:PORT/DATABASE (default: $EGW_STORE, else the embedded SQLite files in the data directory; `egw store copy` moves them)",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("EGW_STORE") is { Length: > 0 } s ? s : null,
        };
        var retentionCount = new Option<long?>("--event-retention-count") { Description = "most events the event log keeps (default 1000000)" };
        var maxSensorWorkflows = new Option<int?>("--max-sensor-workflows") { Description = "workflows created by sensors that may run at once (with --store postgres://, over all replicas together); further events wait in the log (default 100)" };
        var workflowTtl = new Option<string>("--workflow-ttl")
        {
            Description = "delete finished workflows (with their logs and local artifacts; the archive keeps their history) this long after they finish, unless their ttlStrategy says otherwise (Go duration, 168h is a week; or none to keep them: warned)",
            DefaultValueFactory = _ => Durations.Format(RetentionOptions.DefaultWorkflowTtl),
        };
        var maxFinished = new Option<string>("--max-finished-workflows")
        {
            Description = "most finished workflows kept; beyond it the earliest finished are deleted (archived first), whatever their ttlStrategy (a number, or none: warned)",
            DefaultValueFactory = _ => RetentionOptions.DefaultMaxFinishedWorkflows.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        var podGc = new Option<string?>("--pod-gc") { Description = "podGC strategy of workflows that set none: OnPodCompletion, OnPodSuccess, OnWorkflowCompletion or OnWorkflowSuccess (default: keep pods' logs)" };
        var podGcDelay = new Option<string?>("--pod-gc-delay") { Description = "podGC deleteDelayDuration of workflows that set none (Go duration, default 5s)" };
        var noArchive = new Option<bool>("--no-archive") { Description = "do not archive finished workflows (the archive keeps them queryable after they are deleted)" };
        var archiveTtl = new Option<string?>("--archive-ttl") { Description = $"drop archived workflows that finished longer ago than this (Go duration, or none to keep them: warned; default {Durations.Format(RetentionOptions.DefaultArchiveTtl)} (90 days), none with --no-archive)" };
        var artifactRepository = new Option<string?>("--artifact-repository") { Description = "YAML file of the service-wide artifact repository (Argo's artifactRepository value, e.g. s3: {...}, or a workflow-controller-configmap ConfigMap); default: the data directory" };
        var stepNetwork = new Option<string>("--step-network") { Description = "steps' network: isolated (a private namespace per workflow, outbound only, host loopback unreachable), none (loopback only) or host (the host's, API included; warned)", DefaultValueFactory = _ => "isolated" };
        var stepMemory = new Option<string>("--step-memory") { Description = "memory a step may allocate unless its resources.limits.memory says otherwise", DefaultValueFactory = _ => "1Gi" };
        var stepPids = new Option<int>("--step-pids") { Description = "processes a step may run at once", DefaultValueFactory = _ => StepLimits.Default.Pids!.Value };
        var stepOpenFiles = new Option<int>("--step-open-files") { Description = "files a step process may hold open", DefaultValueFactory = _ => StepLimits.Default.OpenFiles!.Value };
        var stepTimeout = new Option<string?>("--step-timeout") { Description = "wall-clock limit of steps without an activeDeadlineSeconds (Go duration; default: none)" };
        var authMode = new Option<string>("--auth-mode") { Description = "token: every API request needs a bearer token (default); none: no authentication (refused on a non-loopback --address without --insecure-no-auth)", DefaultValueFactory = _ => "token" };
        authMode.AcceptOnlyFromAmong("token", "none");
        var insecureNoAuth = new Option<bool>("--insecure-no-auth") { Description = "allow --auth-mode none on an address other hosts can reach: anyone who reaches it can run commands here" };
        var tokens = new Option<string?>("--tokens") { Description = "YAML or JSON file of API tokens (tokens: [{name, sha256 or token, namespaces, role}]); re-read when it changes" };
        var tlsCert = new Option<string?>("--tls-cert") { Description = "PEM certificate (chain) to serve the API over HTTPS; with --tls-key" };
        var tlsKey = new Option<string?>("--tls-key") { Description = "PEM private key of --tls-cert" };
        var apiHosts = new Option<string[]>("--api-host") { Description = "a host name clients use to reach the API, accepted in the Host header besides localhost, 127.0.0.1 and [::1] (repeatable)", AllowMultipleArgumentsPerToken = false };
        var kubernetes = new Option<bool>("--kubernetes") { Description = "read EventSources, Sensors, EventBuses, WorkflowTemplates, ClusterWorkflowTemplates, CronWorkflows, ConfigMaps and Secrets from the Kubernetes API server (list + watch) and write EventSource/Sensor status back; in-cluster config unless --kubeconfig" };
        var kubeconfig = new Option<string?>("--kubeconfig") { Description = "kubeconfig file (its current context) for --kubernetes, instead of the pod's in-cluster config" };
        var workflowsTarget = new Option<string>("--workflows-target") { Description = "with --kubernetes, where argoWorkflow triggers send workflows: embedded (this service's controller) or cluster (Workflow objects in the cluster, for an Argo Workflows controller there)", DefaultValueFactory = _ => "embedded" };
        workflowsTarget.AcceptOnlyFromAmong("embedded", "cluster");
        var cmd = new Command("serve", "run the service: event sources, REST API, workflow controller and executor")
        {
            port, address, dataDir, maxProcesses, noSandbox, stepNetwork, stepMemory, stepPids, stepOpenFiles, stepTimeout, manifests, eventsAddress, eventBus, store, otlpEndpoint, retention, retentionCount, maxSensorWorkflows, workflowTtl, maxFinished, podGc, podGcDelay, noArchive, archiveTtl, artifactRepository,
            authMode, insecureNoAuth, tokens, tlsCert, tlsKey, apiHosts, kubernetes, kubeconfig, workflowsTarget,
        };
        var limits = new WorkflowLimitOptions();
        limits.AddTo(cmd);
        var executor = new ExecutorOptions();
        executor.AddTo(cmd);
        var replicas = new ReplicaOptions();
        replicas.AddTo(cmd);
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            var options = new EventGatewayOptions { DataDir = Path.GetFullPath(r.GetValue(dataDir)!) };
            if (r.GetValue(maxProcesses) is { } mp) options.MaxProcesses = (options.MaxProcessesGiven = mp).Value;
            options.Sandbox = !r.GetValue(noSandbox);
            limits.Apply(r, options);
            await executor.ApplyAsync(r, options, ct);
            options.StepNetwork = r.GetValue(stepNetwork) switch
            {
                "isolated" => StepNetwork.Isolated,
                "none" => StepNetwork.None,
                "host" => StepNetwork.Host,
                var other => throw new CliException($"--step-network '{other}' is not one of isolated, none, host", ExitCodes.Invalid),
            };
            var (memory, memoryError) = StepLimits.ParseMemory(r.GetValue(stepMemory)!);
            if (memoryError is not null) throw new CliException($"--step-memory: {memoryError}", ExitCodes.Invalid);
            options.StepLimits = new StepLimits(memory, r.GetValue(stepPids), r.GetValue(stepOpenFiles));
            if (r.GetValue(stepTimeout) is { } st) options.StepTimeout = Duration("--step-timeout", st);
            options.ManifestDirectories = [.. (r.GetValue(manifests) ?? []).Select(Path.GetFullPath)];
            options.EventListenAddress = r.GetValue(eventsAddress)!;
            if (r.GetValue(retention) is { } ret)
                options.EventLog.RetentionMaxAge = Durations.TryParse(ret, out var age) ? age : throw new CliException($"--event-retention '{ret}' is not a duration (e.g. 72h)", ExitCodes.Invalid);
            if (r.GetValue(retentionCount) is { } rc) options.EventLog.RetentionMaxEvents = rc;
            options.EventBus = r.GetValue(eventBus);
            replicas.Apply(r, options);
            options.OtlpEndpoint = r.GetValue(otlpEndpoint);
            options.Store = r.GetValue(store);
            if (r.GetValue(maxSensorWorkflows) is { } msw) options.Sensors.MaxRunningWorkflows = msw;
            options.Retention.WorkflowTtl = DurationOrNone("--workflow-ttl", r.GetValue(workflowTtl)!);
            options.Retention.MaxFinishedWorkflows = CountOrNone("--max-finished-workflows", r.GetValue(maxFinished)!);
            options.Retention.PodGCStrategy = r.GetValue(podGc);
            if (r.GetValue(podGcDelay) is { } delay) options.Retention.PodGCDeleteDelay = Duration("--pod-gc-delay", delay);
            options.Retention.Archive = !r.GetValue(noArchive);
            options.Retention.ArchiveTtl = r.GetValue(archiveTtl) is { } attl
                ? (options.Retention.Archive ? DurationOrNone("--archive-ttl", attl) : throw new CliException("--archive-ttl needs the archive: drop --no-archive", ExitCodes.Invalid))
                : options.Retention.Archive ? RetentionOptions.DefaultArchiveTtl : null;
            if (r.GetValue(artifactRepository) is { } repo)
            {
                try { options.ArtifactRepository = EventGateway.Workflows.Artifacts.ArtifactRepositories.ReadFile(repo); }
                catch (EventGateway.Workflows.Artifacts.ArtifactException e) { throw new CliException($"--artifact-repository: {e.Message}", ExitCodes.Invalid); }
            }
            if (r.GetValue(kubeconfig) is { } kc && !r.GetValue(kubernetes) && options.Pods is null) throw new CliException("--kubeconfig needs --kubernetes or --executor kubernetes", ExitCodes.Invalid);
            if (r.GetValue(workflowsTarget) == "cluster" && !r.GetValue(kubernetes)) throw new CliException("--workflows-target cluster needs --kubernetes", ExitCodes.Invalid);
            if (options.Pods is { } pods && !r.GetValue(kubernetes) && r.GetValue(kubeconfig) is { } podsConfig) pods.Cluster = new EventGateway.Server.Kubernetes.KubernetesOptions { Kubeconfig = Path.GetFullPath(podsConfig) };
            if (r.GetValue(kubernetes)) options.Kubernetes = new EventGateway.Server.Kubernetes.KubernetesOptions { Kubeconfig = r.GetValue(kubeconfig) is { } k ? Path.GetFullPath(k) : null, WorkflowsTarget = r.GetValue(workflowsTarget)! };
            options.Api = new ApiSecurityOptions
            {
                AuthMode = r.GetValue(authMode) == "none" ? AuthMode.None : AuthMode.Token,
                InsecureNoAuth = r.GetValue(insecureNoAuth),
                TokensFile = r.GetValue(tokens) is { } tf ? Path.GetFullPath(tf) : null,
                ListenAddress = r.GetValue(address)!,
                ApiHosts = [.. r.GetValue(apiHosts) ?? []],
            };
            try { options.Validate(); }
            catch (ArgumentException e) { throw new CliException(e.Message, ExitCodes.Invalid); }
            if (options.Api.TokensFile is { } file)
            {
                try { ApiTokens.Load(file); }
                catch (Exception e) when (e is FormatException or IOException) { throw new CliException($"--tokens: {e.Message}", ExitCodes.Invalid); }
            }
            var certificate = Certificate(r.GetValue(tlsCert), r.GetValue(tlsKey));

            // Before the first file is made: the store, event log and token are the owner's alone.
            DataDirectoryPermissions.RestrictUmask();
            IReadOnlyList<string> tightened;
            try { tightened = DataDirectoryPermissions.Secure(options.DataDir); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CliException($"--data-dir {options.DataDir}: {e.Message}"); }
            var url = $"{(certificate is null ? "http" : "https")}://{r.GetValue(address)}:{r.GetValue(port)}";
            if (options.Api.AuthMode == AuthMode.Token) AnnounceAdminToken(options.DataDir);
            // Content root is the binary's folder: the working directory may be huge (/tmp) and is not ours to watch.
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
            builder.Logging.SetMinimumLevel(LogLevel.Information);
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
            builder.WebHost.UseUrls(url);
            if (certificate is not null)
            {
                builder.WebHost.UseKestrelHttpsConfiguration();
                builder.WebHost.ConfigureKestrel(k => k.ConfigureHttpsDefaults(h => h.ServerCertificate = certificate));
            }
            builder.Services.AddEventGateway(options);
            var app = builder.Build();
            // The event bus is reached before anything listens: unreachable, the start fails naming it, not with a stack trace.
            try { app.Services.GetRequiredService<EventGateway.Events.Log.IEventLog>(); }
            catch (InvalidOperationException e) when (options.EventBus is not null) { throw new CliException($"--event-bus: {e.Message}"); }
            // So is the shared store: its messages name --store and the URL (without its password).
            try { app.Services.GetRequiredService<EventGateway.Workflows.Replicas.IOwnership>(); }
            catch (Exception e) when (options.Store is not null && e is InvalidOperationException or ArgumentException) { throw new CliException(e.Message, ExitCodes.Invalid); }
            // Likewise the shared store (its message names --store and the URL without its password).
            try { app.Services.GetRequiredService<EventGateway.Workflows.Store.IResourceStore>(); }
            catch (InvalidOperationException e) when (options.Store is not null) { throw new CliException(e.Message); }
            app.UseRequestGuard();
            app.MapEventGatewayApi();
            app.MapEventGatewayUi();
            foreach (var t in tightened) ServeLog.DataDirTightened(app.Logger, t);
            Warn(app.Logger, options.Api, certificate is not null);
            if (options.SingleReplicaWarning is { } single) Console.Error.WriteLine($"WARNING: {single}");
            foreach (var unbounded in options.Retention.Unbounded())
            {
                Console.Error.WriteLine($"WARNING: {unbounded}");
                ServeLog.Unbounded(app.Logger, unbounded);
            }
            Console.Error.WriteLine($"web UI: {UiAddress(url, r.GetValue(address)!)}" + (options.Api.AuthMode == AuthMode.Token
                ? $" (log in with the admin token, kept in {AdminTokenFile.PathIn(options.DataDir)})" : ""));
            Console.Error.WriteLine($"egw serving on {url} (data: {options.DataDir}" +
                (options.EventBus is { } busUrl ? $", event bus: {busUrl}" : "") +
                (app.Services.GetRequiredService<EventGateway.Workflows.Replicas.IOwnership>() is { Shared: true } replica ? $", replica {replica.ReplicaId} over a shared store" : "") +
                (options.Store is { } storeUrl ? $", store: {EventGateway.Postgres.Schema.PostgresDatabase.Redact(storeUrl)}" : "") +
                (options.ManifestDirectories.Count > 0 ? $", manifests: {string.Join(", ", options.ManifestDirectories)}" : "") +
                (options.Kubernetes is { } kube ? $", kubernetes: {kube.Kubeconfig ?? "in-cluster"}" : "") +
                (options.ContainerHost is { } engine ? $", steps in containers via {engine})" : ")"));
            await app.RunAsync(ct);
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    /// <summary>The admin token is printed once, when it is made; later starts find it in the data directory.</summary>
    private static void AnnounceAdminToken(string dataDir)
    {
        if (AdminTokenFile.LoadOrCreate(dataDir) is not (var token, true)) return;
        Console.Error.WriteLine($"egw: created the admin token (all namespaces, admin role), shown only this once; it is kept in {AdminTokenFile.PathIn(dataDir)} (mode 0600):");
        Console.Error.WriteLine($"  {token}");
        Console.Error.WriteLine($"use it with `export EGW_TOKEN={token}` or `egw --token {token} ...`; on this machine egw reads it from the data directory itself");
    }

    /// <summary>Where a browser on this machine opens the UI: a wildcard address is not one a browser can go to.</summary>
    private static string UiAddress(string url, string address) =>
        (address is "0.0.0.0" or "::" or "[::]" ? url.Replace($"//{address}:", "//localhost:", StringComparison.Ordinal) : url) + "/";

    /// <summary>Weaker modes say so at every start, on stderr and in the log.</summary>
    private static void Warn(ILogger logger, ApiSecurityOptions api, bool tls)
    {
        string? warning = null;
        if (api.AuthMode == AuthMode.None)
            warning = api.OnLoopback
                ? $"--auth-mode none: the API on {api.ListenAddress} accepts requests without a token; any local user can run commands as this user"
                : $"--auth-mode none --insecure-no-auth: the API on {api.ListenAddress} accepts requests without a token from anyone who can reach it; they can run commands on this host";
        else if (!api.OnLoopback && !tls)
            warning = $"the API listens on {api.ListenAddress} without TLS: tokens cross the network in clear text; add --tls-cert and --tls-key";
        if (warning is null) return;
        Console.Error.WriteLine($"WARNING: {warning}");
        ServeLog.Insecure(logger, warning);
    }

    private static X509Certificate2? Certificate(string? cert, string? key)
    {
        if (cert is null && key is null) return null;
        if (cert is null || key is null) throw new CliException("--tls-cert and --tls-key go together: give both PEM files", ExitCodes.Invalid);
        try { return X509Certificate2.CreateFromPemFile(cert, key); }
        catch (Exception e) when (e is CryptographicException or IOException or ArgumentException)
        { throw new CliException($"--tls-cert {cert} --tls-key {key}: {e.Message}", ExitCodes.Invalid); }
    }

    private static TimeSpan Duration(string flag, string text) =>
        Durations.TryParse(text, out var d) ? d : throw new CliException($"{flag} '{text}' is not a duration (e.g. 30s, 24h)", ExitCodes.Invalid);

    private static TimeSpan? DurationOrNone(string flag, string text) =>
        text == "none" ? null
        : Durations.TryParse(text, out var d) ? d : throw new CliException($"{flag} '{text}' is not a duration (e.g. 30s, 24h) or none", ExitCodes.Invalid);

    private static int? CountOrNone(string flag, string text) =>
        text == "none" ? null
        : int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= 1 ? n
        : throw new CliException($"{flag} '{text}' is not a whole number of at least 1 or none", ExitCodes.Invalid);
}

internal static partial class ServeLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "data directory tightened to the owner only: {What}")]
    public static partial void DataDirTightened(ILogger logger, string what);

    [LoggerMessage(Level = LogLevel.Warning, Message = "insecure: {Warning}")]
    public static partial void Insecure(ILogger logger, string warning);

    [LoggerMessage(Level = LogLevel.Warning, Message = "unbounded: {Warning}")]
    public static partial void Unbounded(ILogger logger, string warning);
}
