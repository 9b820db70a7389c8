import { required } from '../config';
import { EnvelopeCipher, type DataKeys } from '../secrets/envelope';
import { KmsDataKeys } from '../secrets/kms-data-keys';
import { kms } from './kms';

let dataKeys: DataKeys | undefined;
let cipher: EnvelopeCipher | undefined;

/**
 * The cipher of webhook credentials, one per container (its data keys are cached with it): KMS data
 * keys under CREDENTIALS_KEY_ID, unless the host brought its own key keeper (the local runtime).
 */
export function credentialsCipher(): EnvelopeCipher {
  cipher ??= new EnvelopeCipher(dataKeys ?? new KmsDataKeys(kms(), required('CREDENTIALS_KEY_ID')));
  return cipher;
}

/** For hosts other than Lambda: the local runtime keeps its key under DATA_DIR. */
export function useDataKeys(keys: DataKeys): void {
  dataKeys = keys;
  cipher = undefined;
}
