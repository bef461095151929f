using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using EventGateway.Model.Manifests;
using EventGateway.Server.Api;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Execution;

namespace EventGateway.Cli.Commands;

internal static class ServeCommand
{
    public static Command Create()
    {
        var port = new Option<int>("--port") { Description = "port of the REST API", DefaultValueFactory = _ => 2746 };
        var address = new Option<string>("--address") { Description = "address to listen on", DefaultValueFactory = _ => "127.0.0.1" };
        var dataDir = new Option<string>("--data-dir") { Description = "store, logs and artifacts (default: $EGW_DATA_DIR or ~/.egw)", DefaultValueFactory = _ => EventGatewayOptions.DefaultDataDir() };
        var maxProcesses = new Option<int?>("--max-processes") { Description = "cap on concurrently running step processes" };
        var noSandbox = new Option<bool>("--no-sandbox") { Description = "run steps as plain host processes, without bubblewrap isolation" };
        var manifests = new Option<string[]>("--manifests") { Description = "directory of manifests (EventSource, Sensor, WorkflowTemplate, ConfigMap, Secret) applied at start and on change; repeatable", AllowMultipleArgumentsPerToken = false };
        var eventsAddress = new Option<string>("--events-address") { Description = "address the event sources' listeners bind to", DefaultValueFactory = _ => "0.0.0.0" };
        var retention = new Option<string?>("--event-retention") { Description = "how long the event log keeps events (Go duration, default 168h)" };
        var retentionCount = new Option<long?>("--event-retention-count") { Description = "most events the event log keeps (default 1000000)" };
        var maxSensorWorkflows = new Option<int?>("--max-sensor-workflows") { Description = "workflows created by sensors that may run at once; further events wait in the log (default 100)" };
        var workflowTtl = new Option<string?>("--workflow-ttl") { Description = "delete finished workflows (with their logs and artifacts) this long after they finish, unless their ttlStrategy says otherwise (Go duration; default: keep)" };
        var podGc = new Option<string?>("--pod-gc") { Description = "podGC strategy of workflows that set none: OnPodCompletion, OnPodSuccess, OnWorkflowCompletion or OnWorkflowSuccess (default: keep pods' logs)" };
        var podGcDelay = new Option<string?>("--pod-gc-delay") { Description = "podGC deleteDelayDuration of workflows that set none (Go duration, default 5s)" };
        var noArchive = new Option<bool>("--no-archive") { Description = "do not archive finished workflows (the archive keeps them queryable after they are deleted)" };
        var archiveTtl = new Option<string?>("--archive-ttl") { Description = "drop archived workflows that finished longer ago than this (Go duration, e.g. 720h; default: keep)" };
        var artifactRepository = new Option<string?>("--artifact-repository") { Description = "YAML file of the service-wide artifact repository (Argo's artifactRepository value, e.g. s3: {...}, or a workflow-controller-configmap ConfigMap); default: the data directory" };
        var stepNetwork = new Option<string>("--step-network") { Description = "steps' network: isolated (a private namespace per workflow, outbound only, host loopback unreachable), none (loopback only) or host (the host's, API included; warned)", DefaultValueFactory = _ => "isolated" };
        var stepMemory = new Option<string>("--step-memory") { Description = "memory a step may allocate unless its resources.limits.memory says otherwise", DefaultValueFactory = _ => "1Gi" };
        var stepPids = new Option<int>("--step-pids") { Description = "processes a step may run at once", DefaultValueFactory = _ => StepLimits.Default.Pids!.Value };
        var stepOpenFiles = new Option<int>("--step-open-files") { Description = "files a step process may hold open", DefaultValueFactory = _ => StepLimits.Default.OpenFiles!.Value };
        var stepTimeout = new Option<string?>("--step-timeout") { Description = "wall-clock limit of steps without an activeDeadlineSeconds (Go duration; default: none)" };
        var cmd = new Command("serve", "run the service: event sources, REST API, workflow controller and executor")
            { port, address, dataDir, maxProcesses, noSandbox, stepNetwork, stepMemory, stepPids, stepOpenFiles, stepTimeout, manifests, eventsAddress, retention, retentionCount, maxSensorWorkflows, workflowTtl, podGc, podGcDelay, noArchive, archiveTtl, artifactRepository };
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            var options = new EventGatewayOptions { DataDir = Path.GetFullPath(r.GetValue(dataDir)!) };
            if (r.GetValue(maxProcesses) is { } mp) options.MaxProcesses = mp;
            options.Sandbox = !r.GetValue(noSandbox);
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
            if (r.GetValue(maxSensorWorkflows) is { } msw) options.Sensors.MaxRunningWorkflows = msw;
            if (r.GetValue(workflowTtl) is { } ttl) options.Retention.WorkflowTtl = Duration("--workflow-ttl", ttl);
            options.Retention.PodGCStrategy = r.GetValue(podGc);
            if (r.GetValue(podGcDelay) is { } delay) options.Retention.PodGCDeleteDelay = Duration("--pod-gc-delay", delay);
            options.Retention.Archive = !r.GetValue(noArchive);
            if (r.GetValue(archiveTtl) is { } attl) options.Retention.ArchiveTtl = Duration("--archive-ttl", attl);
            if (r.GetValue(artifactRepository) is { } repo)
            {
                try { options.ArtifactRepository = EventGateway.Workflows.Artifacts.ArtifactRepositories.ReadFile(repo); }
                catch (EventGateway.Workflows.Artifacts.ArtifactException e) { throw new CliException($"--artifact-repository: {e.Message}", ExitCodes.Invalid); }
            }
            try { options.Validate(); }
            catch (ArgumentException e) { throw new CliException(e.Message, ExitCodes.Invalid); }
            // Content root is the binary's folder: the working directory may be huge (/tmp) and is not ours to watch.
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
            builder.Logging.SetMinimumLevel(LogLevel.Information);
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
            builder.WebHost.UseUrls($"http://{r.GetValue(address)}:{r.GetValue(port)}");
            builder.Services.AddEventGateway(options);
            var app = builder.Build();
            app.MapEventGatewayApi();
            Console.Error.WriteLine($"egw serving on http://{r.GetValue(address)}:{r.GetValue(port)} (data: {options.DataDir}" +
                (options.ManifestDirectories.Count > 0 ? $", manifests: {string.Join(", ", options.ManifestDirectories)})" : ")"));
            await app.RunAsync(ct);
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static TimeSpan Duration(string flag, string text) =>
        Durations.TryParse(text, out var d) ? d : throw new CliException($"{flag} '{text}' is not a duration (e.g. 30s, 24h)", ExitCodes.Invalid);
}
