using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using EventGateway.Model.Manifests;

namespace EventGateway.Server.Api;

/// <summary>
/// What every API request passes before an endpoint sees it, and how every failure leaves: namespace and name in the URL
/// are Kubernetes names (or nothing is stored or created for them), a body over the manifest cap is refused with 413
/// before it is read, a storage failure is a 503 with Retry-After, and anything unexpected is a one-line 500 with one
/// log line, never a stack trace.
/// </summary>
public sealed partial class RequestGuard(RequestDelegate next, ILogger<RequestGuard> log, Workflows.Replicas.IOwnership? ownership = null)
{
    /// <summary>Largest request body: the manifest cap, since every body is a manifest or smaller.</summary>
    public const long MaxBodyBytes = YamlToJson.MaxManifestBytes;

    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);

    public async Task InvokeAsync(HttpContext http)
    {
        if (RouteProblem(http) is { } problem)
        {
            await WriteAsync(http, StatusCodes.Status400BadRequest, 3, problem);
            return;
        }
        if (http.Request.ContentLength > MaxBodyBytes)
        {
            await WriteAsync(http, StatusCodes.Status413PayloadTooLarge, 3, $"request body of {http.Request.ContentLength} bytes is larger than the limit of {MaxBodyBytes} bytes");
            return;
        }
        // A replica cut off from the shared database neither stores nor reads truthfully: 503 until it is back (liveness aside).
        if (ownership?.Unavailable is { } unavailable && http.Request.Path != "/healthz")
        {
            http.Response.Headers.RetryAfter = ((int)RetryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await WriteAsync(http, StatusCodes.Status503ServiceUnavailable, 14, $"{unavailable}; nothing was changed, retry later");
            return;
        }
        // A body without a length (chunked) is cut off by Kestrel at the same cap while it is read.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = MaxBodyBytes;

        try
        {
            await next(http);
        }
        catch (BadHttpRequestException e) when (!http.Response.HasStarted)
        {
            var message = e.StatusCode == StatusCodes.Status413PayloadTooLarge ? $"request body is larger than the limit of {MaxBodyBytes} bytes" : OneLine(e.Message);
            await WriteAsync(http, e.StatusCode, 3, message);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client went away: nobody to answer.
        }
        catch (Exception e) when (StorageFailure.Describe(e) is { } storage && !http.Response.HasStarted)
        {
            LogStorageFailed(log, http.Request.Method, http.Request.Path, storage);
            http.Response.Headers.RetryAfter = ((int)RetryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await WriteAsync(http, StatusCodes.Status503ServiceUnavailable, 14, $"storage cannot take writes now ({storage}); nothing was changed, retry later");
        }
        catch (Exception e) when (!http.Response.HasStarted)
        {
            LogUnexpected(log, http.Request.Method, http.Request.Path, e.GetType().Name, OneLine(e.Message));
            await WriteAsync(http, StatusCodes.Status500InternalServerError, 13, $"internal error ({e.GetType().Name}); the service log has a line for {http.Request.Method} {http.Request.Path}");
        }
    }

    /// <summary>The URL's namespace (an RFC 1123 label, or "-" to list all) and name (an RFC 1123 subdomain).</summary>
    private static string? RouteProblem(HttpContext http)
    {
        var values = http.Request.RouteValues;
        if (values.TryGetValue("ns", out var n) && n is string ns
            && !(ManifestValidator.IsDnsLabel(ns) || (ns == "-" && HttpMethods.IsGet(http.Request.Method))))
            return $"namespace '{Shown(ns)}' in the URL is not a valid namespace: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters";
        if (values.TryGetValue("name", out var m) && m is string name && !ManifestValidator.IsDnsSubdomain(name))
            return $"name '{Shown(name)}' in the URL is not a valid name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters";
        return null;
    }

    private static string Shown(string s) => s.Length > 80 ? s[..80] + "…" : s;

    private static string OneLine(string s) => s.ReplaceLineEndings(" ");

    private static Task WriteAsync(HttpContext http, int status, int code, string message)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        return http.Response.WriteAsync(JsonSerializer.Serialize(new { code, message }));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} {Path} refused with 503: {Reason}")]
    private static partial void LogStorageFailed(ILogger log, string method, string path, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Method} {Path} failed with 500: {Type}: {Reason}")]
    private static partial void LogUnexpected(ILogger log, string method, string path, string type, string reason);
}

public static class RequestGuardExtensions
{
    /// <summary>Registers <see cref="RequestGuard"/>; call before mapping the API.</summary>
    public static IApplicationBuilder UseRequestGuard(this IApplicationBuilder app) => app.UseMiddleware<RequestGuard>();
}
