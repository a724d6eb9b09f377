// Thin launcher over the Eclipse Leshan LwM2M server library (leshan-server-cf, resolved from
// Maven Central by deploy/local/maven/leshan-server/pom.xml). It is the baseline of the gateway
// benchmark (bench/gateway/gateway.bench.ts): everything on the wire (Register, Update,
// De-register, CoAP deduplication) is Leshan's and Californium's own code; this file only wires
// a CoAP (NoSec) endpoint and Leshan's in-memory registration store, and prints one line when
// it listens. It never contacts any other host.
//
// Run as a single-file Java program (Java 11+, no javac step):
//   java -cp "$HOME/.cache/dmp/leshan-server-2.0.0-M15/lib/*" bench/peers/LeshanServerBench.java \
//     -b 127.0.0.1 -p 5683 -t 300
//
// Options: -b bind address (default 127.0.0.1), -p UDP port (default 5683, 0 = ephemeral),
// -t maximum run time in seconds before exiting (default 600; the benchmark stops it earlier).
// Prints `LESHAN LISTENING <host>:<port>` on stdout once the endpoint is started, and
// `LESHAN REGISTRATIONS <n>` on stdin EOF / SIGTERM (count of live registrations).
import java.net.InetSocketAddress;
import java.util.Iterator;

import org.eclipse.californium.core.config.CoapConfig;
import org.eclipse.californium.elements.config.Configuration;
import org.eclipse.californium.elements.config.UdpConfig;
import org.eclipse.leshan.core.endpoint.Protocol;
import org.eclipse.leshan.server.LeshanServer;
import org.eclipse.leshan.server.LeshanServerBuilder;
import org.eclipse.leshan.server.californium.endpoint.CaliforniumServerEndpointsProvider;
import org.eclipse.leshan.server.californium.endpoint.coap.CoapServerProtocolProvider;
import org.eclipse.leshan.server.endpoint.LwM2mServerEndpoint;
import org.eclipse.leshan.server.registration.InMemoryRegistrationStore;
import org.eclipse.leshan.server.registration.Registration;

public class LeshanServerBench {
    public static void main(String[] args) throws Exception {
        // quiet: the benchmark drives tens of thousands of registrations
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        String bind = "127.0.0.1";
        int port = 5683;
        long runSeconds = 600;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) {
                System.out.println("usage: LeshanServerBench [-b bindAddress] [-p port] [-t seconds]");
                return;
            }
            if (i + 1 >= args.length) throw new IllegalArgumentException("missing value for " + a);
            String v = args[++i];
            switch (a) {
                case "-b": bind = v; break;
                case "-p": port = Integer.parseInt(v); break;
                case "-t": runSeconds = Long.parseLong(v); break;
                default: throw new IllegalArgumentException("unknown option " + a);
            }
        }

        CaliforniumServerEndpointsProvider.Builder ep = new CaliforniumServerEndpointsProvider.Builder(new CoapServerProtocolProvider());
        Configuration config = ep.createDefaultConfiguration();
        // same socket buffers as our gateway (4 MiB, capped by net.core.rmem_max / wmem_max)
        config.set(UdpConfig.UDP_RECEIVE_BUFFER_SIZE, 4 * 1024 * 1024);
        config.set(UdpConfig.UDP_SEND_BUFFER_SIZE, 4 * 1024 * 1024);
        config.set(CoapConfig.MAX_ACTIVE_PEERS, 200_000);
        ep.setConfiguration(config);
        ep.addEndpoint(new InetSocketAddress(bind, port), Protocol.COAP);

        LeshanServerBuilder builder = new LeshanServerBuilder();
        builder.setRegistrationStore(new InMemoryRegistrationStore());
        builder.setEndpointsProviders(ep.build());
        LeshanServer server = builder.build();
        server.start();

        for (LwM2mServerEndpoint e : server.getEndpoints()) {
            System.out.println("LESHAN LISTENING " + e.getURI().getHost() + ":" + e.getURI().getPort());
        }
        System.out.flush();

        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            int n = 0;
            for (Iterator<Registration> it = server.getRegistrationService().getAllRegistrations(); it.hasNext(); it.next()) n++;
            System.out.println("LESHAN REGISTRATIONS " + n);
            System.out.flush();
            server.destroy();
        }));
        long end = System.currentTimeMillis() + runSeconds * 1000;
        // exit when the parent closes stdin (so an orphaned launcher never lingers) or time is up
        Thread stdin = new Thread(() -> {
            try {
                while (System.in.read() >= 0) { }
            } catch (Exception ignored) { }
            System.exit(0);
        });
        stdin.setDaemon(true);
        stdin.start();
        while (System.currentTimeMillis() < end) Thread.sleep(500);
        System.exit(0);
    }
}
