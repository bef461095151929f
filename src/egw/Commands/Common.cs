using System.CommandLine;
using EventGateway.Cli.Output;
using EventGateway.Model.Manifests;
using EventGateway.Server.Hosting;
using EventGateway.Server.Security;

namespace EventGateway.Cli.Commands;

/// <summary>Options several commands share, and the one place errors become exit codes.</summary>
internal static class Common
{
    /// <summary>--server, --token and --data-dir: where `egw serve` is and how to prove who we are to it.</summary>
    public static ServerConnection Server() => new();

    public static Option<string> Namespace() => new("--namespace", "-n") { Description = "namespace", DefaultValueFactory = _ => "default" };

    public static Option<bool> AllNamespaces() => new("--all-namespaces", "-A") { Description = "every namespace" };

    public static Option<string?> Selector() => new("--selector", "-l") { Description = "label selector, e.g. app=ci,tier!=test" };

    public static Option<string?> Output()
    {
        var output = new Option<string?>("--output", "-o") { Description = "output format: json or yaml for machines; default is a readable view" };
        output.CompletionSources.Add("json", "yaml");
        return output;
    }

    public static Option<string[]> Parameters() => new("--parameter", "-p")
    {
        Description = "workflow argument as name=value (repeatable)",
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>The machine format asked for with -o; null for the readable view.</summary>
    public static MachineOutput? Machine(string? output) => output switch
    {
        null or "" or "wide" => null,
        "json" => MachineOutput.Json,
        "yaml" => MachineOutput.Yaml,
        _ => throw new CliException($"unknown output format '{output}': use json or yaml", ExitCodes.Invalid),
    };

    /// <summary>Runs a command body, turning known failures into one line on stderr and an exit code.</summary>
    public static async Task<int> Guard(Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (ManifestException e)
        {
            foreach (var error in e.Errors) Console.Error.WriteLine($"error: {error}");
            return ExitCodes.Invalid;
        }
        catch (CliException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return e.ExitCode;
        }
        catch (FileNotFoundException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.Invalid;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("interrupted");
            return 130;
        }
    }
}

/// <summary>The options of a command that talks to `egw serve`, and the client they make.</summary>
internal sealed class ServerConnection
{
    public Option<string> Server { get; } = new("--server", "-s")
    {
        Description = "URL of `egw serve` (default: $EGW_SERVER or http://localhost:2746)",
        DefaultValueFactory = _ => ApiClient.DefaultServer,
    };

    public Option<string?> Token { get; } = new("--token")
    {
        Description = "API bearer token (default: $EGW_TOKEN; for a server on this machine, the admin token in its data directory)",
    };

    public Option<string> DataDir { get; } = new("--data-dir")
    {
        Description = "data directory of a local `egw serve`, whose admin token is used when no token is given (default: $EGW_DATA_DIR or ~/.egw)",
        DefaultValueFactory = _ => EventGatewayOptions.DefaultDataDir(),
    };

    public ApiClient Client(ParseResult r)
    {
        var server = r.GetValue(Server)!;
        return new ApiClient(server, TokenFor(server, r.GetValue(Token), r.GetValue(DataDir)!));
    }

    /// <summary>--token, else $EGW_TOKEN, else, for a server on loopback, the admin token its data directory holds (if we may read it).</summary>
    private static string? TokenFor(string server, string? token, string dataDir)
    {
        if (token is { Length: > 0 }) return token;
        if (Environment.GetEnvironmentVariable("EGW_TOKEN") is { Length: > 0 } env) return env;
        if (!Uri.TryCreate(server, UriKind.Absolute, out var uri) || !ApiSecurityOptions.IsLoopback(uri.Host)) return null;
        try { return AdminTokenFile.Read(AdminTokenFile.PathIn(dataDir)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }
}

internal static class ServerConnectionOptions
{
    /// <summary>Lets a command's option list name the connection as one item: <c>new Command(...) { server, ns }</c>.</summary>
    public static void Add(this Command command, ServerConnection connection)
    {
        command.Options.Add(connection.Server);
        command.Options.Add(connection.Token);
        command.Options.Add(connection.DataDir);
    }
}
