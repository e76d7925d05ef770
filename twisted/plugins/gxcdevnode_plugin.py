"""twistd plugin: ``twistd -n gxcdevnode`` runs the GXC devnet node simulator."""
from twisted.application.service import ServiceMaker

gxcdevnode = ServiceMaker("gxcdevnode", "gxcpoold.node.devnode.tap",
                          "GXC devnet node simulator", "gxcdevnode")
