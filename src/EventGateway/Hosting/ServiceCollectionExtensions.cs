using EventGateway.Artifacts;
using EventGateway.Execution;
using EventGateway.Store;
using EventGateway.Workflows;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EventGateway.Hosting;

public static class ServiceCollectionExtensions
{
    /// <summary>The embedded engine: SQLite store, local sandboxed executor, reconcile loop.</summary>
    public static IServiceCollection AddEventGateway(this IServiceCollection services, EventGatewayOptions options)
    {
        options.Validate();
        Directory.CreateDirectory(options.DataDir);
        services.AddSingleton(options);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<IResourceStore>(sp => new SqliteResourceStore(Path.Combine(options.DataDir, "egw.db"), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(_ => new LocalArtifactRepository(options.DataDir));
        services.AddSingleton<IStepExecutor>(sp => new LocalProcessExecutor(options.DataDir, options.MaxProcesses, Sandbox.Detect(options.Sandbox),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<LocalProcessExecutor>>()));
        services.AddSingleton<StepSpecBuilder>();
        services.AddSingleton<OutputCollector>();
        services.AddSingleton<WorkflowSubmitter>();
        services.AddSingleton(new ControllerOptions { SaveInterval = options.StatusSaveInterval });
        services.AddSingleton<WorkflowController>();
        services.AddHostedService(sp => sp.GetRequiredService<WorkflowController>());
        return services;
    }
}
