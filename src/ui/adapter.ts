// What the header shows about the GPU: asks for a device once, reports it, and gives it back.
import { requestDevice, type AdapterReport } from '../star/page-support.ts';

export type AdapterStatus =
  | { status: 'probing' }
  | { status: 'found'; adapter: AdapterReport }
  | { status: 'missing'; message: string };

export async function probeAdapter(): Promise<AdapterStatus> {
  try {
    const { device, adapter } = await requestDevice();
    device.destroy();
    return { status: 'found', adapter };
  } catch (error) {
    return { status: 'missing', message: error instanceof Error ? error.message : String(error) };
  }
}
