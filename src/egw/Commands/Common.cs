using System.CommandLine;
using EventGateway.Model.Manifests;

namespace EventGateway.Cli.Commands;

/// <summary>Options several commands share, and the one place errors become exit codes.</summary>
internal static class Common
{
    public static Option<string> Server() => new("--server", "-s")
    {
        Description = "URL of `egw serve` (default: $EGW_SERVER or http://localhost:2746)",
        DefaultValueFactory = _ => ApiClient.DefaultServer,
    };

    public static Option<string> Namespace() => new("--namespace", "-n") { Description = "namespace", DefaultValueFactory = _ => "default" };

    public static Option<string?> Output() => new("--output", "-o") { Description = "output format: json for machines; default is a readable view" };

    public static Option<string[]> Parameters() => new("--parameter", "-p")
    {
        Description = "workflow argument as name=value (repeatable)",
        AllowMultipleArgumentsPerToken = false,
    };

    public static bool Json(string? output) => output switch
    {
        null or "" or "wide" => false,
        "json" => true,
        _ => throw new CliException($"unknown output format '{output}': use json", ExitCodes.Invalid),
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
