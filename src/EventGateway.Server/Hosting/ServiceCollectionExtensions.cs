using EventGateway.Workflows.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using EventGateway.Events.EventSources;
using EventGateway.Events.EventSources.Http;
using EventGateway.Events.Log;
using EventGateway.Events.Sensors;
using EventGateway.Events.Sensors.State;
using EventGateway.Events.Sensors.Triggers;
using EventGateway.Workflows.Agent;
using EventGateway.Workflows.Artifacts;
using EventGateway.Workflows.Controller;
using EventGateway.Workflows.Execution;
using EventGateway.Workflows.Controls;
using EventGateway.Workflows.Retention;
using EventGateway.Workflows.Store;
using EventGateway.Workflows.Submission;
using EventGateway.Workflows.Schedules;
using EventGateway.Server.Security;
using EventGateway.Postgres.Artifacts;
using EventGateway.Postgres.Schema;
using EventGateway.Postgres.Sensors;
using EventGateway.Postgres.Store;
using EventGateway.Server.Kubernetes;

namespace EventGateway.Server.Hosting;

public static class ServiceCollectionExtensions
{
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(7);

    /// <summary>The embedded engine: SQLite store, local sandboxed executor, reconcile loop.</summary>
    public static IServiceCollection AddEventGateway(this IServiceCollection services, EventGatewayOptions options)
    {
        options.Validate();
        Directory.CreateDirectory(options.DataDir);
        services.AddSingleton(options);
        // SIGTERM ends the process within 10 s: hosted services get this long to stop, then the host exits regardless.
        services.Configure<Microsoft.Extensions.Hosting.HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
        services.AddSingleton(TimeProvider.System);
        // One Prometheus registry per host (not the library's static default): two engines in one process keep their own metrics.
        services.AddSingleton(_ => Prometheus.Metrics.NewCustomRegistry());
        services.AddSingleton<Telemetry.ServiceMetrics>();
        services.AddSingleton<EventSourceMetrics>();
        services.AddSingleton<IWorkflowObserver, WorkflowTracing>();
        if (options.OtlpEndpoint is { } otlp) services.AddHostedService(_ => new Telemetry.OtlpTracing(otlp));
        services.AddSingleton(ManifestReader.ParserFor(cluster: false, pods: options.Pods is not null));
        if (options.Pods is not null) services.AddSingleton<EventGateway.Workflows.Validation.StepsArePods>();
        services.AddSingleton(options.Api);
        services.AddSingleton<ApiTokens>(); // made at the first API request: `egw run` has no API and no admin token
        services.AddSingleton<ApiGuard>();
        services.AddSingleton<Ui.UiSessions>();
        if (options.Store is null)
        {
            services.AddSingleton<IResourceStore>(sp => new SqliteResourceStore(Path.Combine(options.DataDir, "egw.db"), sp.GetRequiredService<TimeProvider>()));
            services.AddSingleton<IArtifactGCLedger>(_ => new FileArtifactGCLedger(options.DataDir));
            services.AddSingleton<ISensorStateStore>(_ => new SqliteSensorStateStore(Path.Combine(options.DataDir, "sensors.db")));
            if (options.Retention.Archive) services.AddSingleton<IWorkflowArchive>(_ => new SqliteWorkflowArchive(Path.Combine(options.DataDir, "archive.db")));
        }
        else
        {
            services.AddPostgresStores(options.Store, options.Retention.Archive);
        }
        services.AddReplicaOwnership(options); // after the stores: it shares their database
        services.AddSingleton(_ => new LocalArtifactRepository(options.DataDir));
        services.AddSingleton<ArtifactStorage>();
        services.AddSingleton<ArtifactGarbageCollector>();
        services.AddSingleton<Microsoft.Extensions.Hosting.IHostedService>(sp => ReplicaServices.Singleton(sp, sp.GetRequiredService<ArtifactGarbageCollector>(), "artifact-gc"));
        services.AddSingleton<IWorkflowObserver>(sp => sp.GetRequiredService<ArtifactGarbageCollector>());
        services.AddSingleton<IStepExecutor>(sp => options.Pods is { } pods
            ? new Kubernetes.Pods.PodExecutor(options.DataDir, sp.GetRequiredService<k8s.IKubernetes>(), sp.GetRequiredService<ArtifactStorage>(), options.ArtifactRepository!.S3!, pods,
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<Kubernetes.Pods.PodExecutor>>())
            : options.ContainerHost is { } host
            ? new ContainerExecutor(options.DataDir, host, options.ReplicaMaxProcesses, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ContainerExecutor>>(),
                options.StepLimits, options.StepTimeout)
            : new LocalProcessExecutor(options.DataDir, options.ReplicaMaxProcesses, Sandbox.Detect(options.Sandbox, options.StepNetwork),
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<LocalProcessExecutor>>(), limits: options.StepLimits, stepTimeout: options.StepTimeout));
        services.AddSingleton<HttpArtifactLoader>();
        services.AddSingleton<GitArtifactLoader>();
        services.AddSingleton<Workflows.Volumes.PodVolumes>();
        services.AddSingleton<StepSpecBuilder>();
        services.AddSingleton<OutputCollector>();
        services.AddSingleton(options.Limits);
        services.AddSingleton<WorkflowSubmitter>();
        services.AddSingleton<WorkflowControls>();
        services.AddSingleton<AgentHttpClients>();
        services.AddSingleton<ITemplateRunner, HttpTemplateRunner>();
        services.AddSingleton<ITemplateRunner, ResourceTemplateRunner>();
        services.AddSingleton<ITemplateRunner, DataTemplateRunner>();
        services.AddSingleton(new ControllerOptions { SaveInterval = options.StatusSaveInterval, ArtifactRepository = options.ArtifactRepository, Limits = options.Limits });
        services.AddSingleton<WorkflowController>();
        services.AddHostedService(sp => sp.GetRequiredService<WorkflowController>());
        services.AddSingleton<CronScheduler>();
        services.AddSingleton<Microsoft.Extensions.Hosting.IHostedService>(sp => ReplicaServices.Singleton(sp, sp.GetRequiredService<CronScheduler>(), "cron"));
        services.AddSingleton(options.Retention);
        services.AddSingleton<WorkflowDeleter>();
        services.AddSingleton<WorkflowReaper>();
        services.AddSingleton<IWorkflowObserver>(sp => sp.GetRequiredService<WorkflowReaper>());
        services.AddSingleton<CustomMetrics>();
        services.AddSingleton<IWorkflowObserver>(sp => sp.GetRequiredService<CustomMetrics>());
        services.AddSingleton<Microsoft.Extensions.Hosting.IHostedService>(sp => ReplicaServices.Singleton(sp, sp.GetRequiredService<WorkflowReaper>(), "reaper"));

        if (options.EventBus is { } bus)
            // Opened once at start: an unreachable bus fails the start with its URL; a later outage only refuses appends (503).
            services.AddSingleton<IEventLog>(sp => JetStreamEventLog.OpenAsync(bus, options.EventLog, sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<JetStreamEventLog>>()).GetAwaiter().GetResult());
        else
            services.AddSingleton<IEventLog>(sp => new SqliteEventLog(Path.Combine(options.DataDir, "events.db"), options.EventLog,
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<SqliteEventLog>>()));
        services.AddSingleton<SecretResolver>();
        services.AddSingleton(sp => new WebhookServer(options.EventListenAddress, sp.GetRequiredService<ILoggerFactory>())
        {
            Unavailable = sp.GetRequiredService<Workflows.Replicas.IOwnership>() is { Shared: true } o ? () => o.Unavailable : null,
        });
        if (options.ManifestDirectories.Count > 0)
        {
            services.AddSingleton(sp => new ManifestDirectoryWatcher(options.ManifestDirectories.Select(Path.GetFullPath).ToList(),
                sp.GetRequiredService<IResourceStore>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ManifestDirectoryWatcher>>(),
                sp.GetRequiredService<EventGateway.Model.Manifests.ManifestParser>()));
            services.AddHostedService(sp => sp.GetRequiredService<ManifestDirectoryWatcher>());
        }
        services.AddSingleton<EventSourceHost>();
        services.AddHostedService(sp => sp.GetRequiredService<EventSourceHost>());

        services.AddSingleton(options.Sensors);
        services.AddSingleton(sp => new SensorWorkflowGate(sp.GetRequiredService<IResourceStore>(), options.Sensors.MaxRunningWorkflows, sp.GetService<ISensorWorkflowPlaces>()));
        services.AddSingleton<SensorMetrics>();
        services.AddSingleton<TriggerHttpClients>();
        services.AddSingleton(sp => new TriggerContext(sp.GetRequiredService<IResourceStore>(), sp.GetRequiredService<SecretResolver>(),
            sp.GetRequiredService<TriggerHttpClients>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>().CreateLogger("EventGateway.Events.Sensors.Triggers")));
        services.AddSingleton<ITrigger, K8sTrigger>();
        services.AddSingleton<ITrigger, ArgoWorkflowTrigger>();
        services.AddSingleton<ITrigger, HttpTrigger>();
        services.AddSingleton<ITrigger, KafkaTrigger>();
        services.AddSingleton<ITrigger, LogTrigger>();
        services.AddSingleton<SensorHost>();
        services.AddHostedService(sp => sp.GetRequiredService<SensorHost>());
        services.AddSingleton<DeadLetterReplayer>();
        if (options.Kubernetes is { } kubernetes) services.AddClusterMirror(kubernetes, options.EventBus);
        else if (options.Pods?.Cluster is { } cluster) services.AddSingleton<k8s.IKubernetes>(_ => new k8s.Kubernetes(cluster.ClientConfiguration()));
        return services;
    }

    /// <summary>
    /// The shared store: one database (migrated when first resolved, so an unreachable one fails the start naming its URL)
    /// behind every store interface. A later outage fails requests with 503 (StorageFailure), not the process.
    /// </summary>
    private static void AddPostgresStores(this IServiceCollection services, string url, bool archive)
    {
        services.AddSingleton(_ => PostgresDatabase.OpenAsync(url).GetAwaiter().GetResult());
        services.AddSingleton<IResourceStore>(sp => PostgresResourceStore.OpenAsync(sp.GetRequiredService<PostgresDatabase>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<PostgresResourceStore>>()).GetAwaiter().GetResult());
        services.AddSingleton<IArtifactGCLedger>(sp => new PostgresArtifactGCLedger(sp.GetRequiredService<PostgresDatabase>()));
        services.AddSingleton<ISensorStateStore>(sp => new PostgresSensorStateStore(sp.GetRequiredService<PostgresDatabase>()));
        if (archive) services.AddSingleton<IWorkflowArchive>(sp => new PostgresWorkflowArchive(sp.GetRequiredService<PostgresDatabase>()));
    }
}
