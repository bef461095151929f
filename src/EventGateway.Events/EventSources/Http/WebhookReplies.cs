using System.Text;
using Microsoft.AspNetCore.Http;
using EventGateway.Events.Log;

namespace EventGateway.Events.EventSources.Http;

/// <summary>Refusals with a one-line reason, and the 503 a full or failing log produces.</summary>
public static class WebhookReplies
{
    public static Task Reply(HttpContext ctx, int status, string reason)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "text/plain; charset=utf-8";
        return ctx.Response.WriteAsync(reason + "\n");
    }

    public static Task Unavailable(HttpContext ctx, EventLogUnavailableException e)
    {
        ctx.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(e.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Reply(ctx, StatusCodes.Status503ServiceUnavailable, $"event not stored: {e.Message}");
    }

    /// <summary>Argo's answer to an accepted event.</summary>
    public static Task Success(HttpContext ctx)
    {
        ctx.Response.StatusCode = StatusCodes.Status200OK;
        ctx.Response.ContentType = "text/plain; charset=utf-8";
        return ctx.Response.Body.WriteAsync(SuccessBody).AsTask();
    }

    private static readonly byte[] SuccessBody = Encoding.UTF8.GetBytes("success\n");
}
