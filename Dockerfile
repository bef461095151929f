# egw serve with its embedded defaults: SQLite store and the local sandboxed executor.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
# egw-step, the step launcher, is C built static with the project (musl: no glibc CPU probing at each start).
RUN apt-get update && apt-get install -y --no-install-recommends musl-tools && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN dotnet publish src/egw -c Release -o /out

FROM mcr.microsoft.com/dotnet/aspnet:10.0
# egw-step (published beside egw.dll) isolates each step; iproute2 and passt give each workflow its network;
# steps run the image's own tools (sh, python3, ...) on this host image.
RUN apt-get update && apt-get install -y --no-install-recommends iproute2 passt python3 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out /opt/egw
ENV EGW_DATA_DIR=/var/lib/egw
VOLUME /var/lib/egw
EXPOSE 2746
ENTRYPOINT ["dotnet", "/opt/egw/egw.dll"]
CMD ["serve", "--address", "0.0.0.0", "--port", "2746"]
