/**
 * The scripted anonymous web customer lives in src/bench/customer.ts (the bench drives the same client);
 * tests import it from here, over the global fetch by default.
 */
export {
  AnonCustomer,
  type AnonCustomerOptions,
  type ReceivedEvent,
  type ReceivedMessage,
} from '../../src/bench/customer.ts';
