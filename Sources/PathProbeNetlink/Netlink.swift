import PathProbeCore
internal import CNetlink
