// An AlimTalk template picked on the canvas brings its type and parts (emphasized title, item
// list) and asks for every #{name} they hold, not only the body's.
import { describe, expect, it } from 'vitest';

import { templatePlaceholders, withTemplate } from './kakao';

const ORDER = {
  code: 'ORDER1',
  name: 'Order',
  text: '#{name}님, 주문이 접수되었습니다.',
  emphasize_type: 'ITEM_LIST' as const,
  header: '주문 접수',
  item_highlight: { title: '#{product}', description: '주문번호 #{order}' },
  items: [
    { title: '수량', description: '#{qty}개' },
    { title: '배송', description: '#{ship}' },
  ],
  item_summary: { title: '합계', description: '#{total}원' },
  variables: ['name', 'product', 'order', 'qty', 'ship', 'total'],
  buttons: [],
  status: 'approved' as const,
  dealer_status: 'APR',
};

describe('AlimTalk template types', () => {
  it('copies an item-list template with its parts and one variable per placeholder', () => {
    const content = withTemplate({ variables: { name: '{{ customer.first_name }}' } }, ORDER);
    expect(content).toMatchObject({ template_code: 'ORDER1', emphasize_type: 'ITEM_LIST', header: '주문 접수', items: ORDER.items, item_summary: ORDER.item_summary });
    expect(content.variables).toEqual({ name: '{{ customer.first_name }}', product: '', order: '', qty: '', ship: '', total: '' });
    expect(templatePlaceholders(content)).toEqual(['name', 'product', 'order', 'qty', 'ship', 'total']);
  });

  it('drops the previous template’s parts when a plain one is picked', () => {
    const ordered = withTemplate({}, ORDER);
    const plain = withTemplate(ordered, { ...ORDER, code: 'CART1', text: '#{name}님', emphasize_type: 'NONE', header: undefined, item_highlight: undefined, items: undefined, item_summary: undefined, variables: ['name'] });
    expect(plain).not.toHaveProperty('items');
    expect(plain).not.toHaveProperty('emphasize_type');
    expect(templatePlaceholders(plain)).toEqual(['name']);
  });
});
