using System.CommandLine;
using EventGateway.Api;
using EventGateway.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

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
        var cmd = new Command("serve", "run the service: REST API, workflow controller and executor") { port, address, dataDir, maxProcesses, noSandbox };
        cmd.SetAction((r, ct) => Common.Guard(async () =>
        {
            var options = new EventGatewayOptions { DataDir = Path.GetFullPath(r.GetValue(dataDir)!) };
            if (r.GetValue(maxProcesses) is { } mp) options.MaxProcesses = mp;
            options.Sandbox = !r.GetValue(noSandbox);
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
            Console.Error.WriteLine($"egw serving on http://{r.GetValue(address)}:{r.GetValue(port)} (data: {options.DataDir})");
            await app.RunAsync(ct);
            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
